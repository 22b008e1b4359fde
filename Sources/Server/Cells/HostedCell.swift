import Cell
import NIOCore
import Wire

/// Where a node sends a client's answer: the connection it came on and its id.
struct Responder: Sendable {
    let replies: ChannelOutbox
    let requestID: UInt64

    func send(_ body: ClientResponse.Body) {
        replies.send(Frame.response(ClientResponse(id: requestID, body: body)))
    }
}

/// A read the shard answers from a cell's applied state.
enum CellRead {
    case get(ItemKey)
    case query(collection: [UInt8], from: [UInt8]?, to: [UInt8]?, reverse: Bool, limit: Int, after: [UInt8]?)
}

/// One replica this node hosts, with its state machine and the client
/// requests waiting on it. Owned by one shard's event loop: no locks (hence
/// `@unchecked`: it is only ever touched on that loop).
final class HostedCell: @unchecked Sendable {
    let cell: UInt64
    let replica: CellReplica
    var stateMachine = CellStateMachine()
    var disk: CellDiskState
    /// Proposed writes by log index, answered when that index is applied.
    var pendingWrites: [LogIndex: (command: CellCommand, responder: Responder)] = [:]
    /// Strong reads waiting for the leader's lease (or its first commit).
    var pendingReads: [(read: CellRead, responder: Responder)] = []
    /// Readies queued for or being written by the shard's disk pipeline.
    var readiesInFlight = 0
    var scheduledTick: Scheduled<Void>?
    var scheduledTickAt: Instant?
    var wasLeader = false

    init(cell: UInt64, replica: CellReplica, disk: CellDiskState) {
        self.cell = cell
        self.replica = replica
        self.disk = disk
    }
}
