import Cell
import CellHost
import NIOCore
import Wire

/// Where a node sends a client's answer: the connection it came on and its id.
struct Responder: Sendable {
    let replies: ChannelOutbox
    let requestID: UInt64

    /// Answers the request; every admitted request is answered exactly once.
    func send(_ body: ClientResponse.Body) {
        replies.sendReply(Frame.response(ClientResponse(id: requestID, body: body)))
    }
}

/// A read the shard answers from a cell's applied state.
enum CellRead {
    case get(ItemKey)
    case query(collection: [UInt8], from: [UInt8]?, to: [UInt8]?, reverse: Bool, limit: Int, after: [UInt8]?)
    /// Queue entries from `from` (the first available when nil); `name` is the queue's key, for messages.
    case queueEntries(queue: [UInt8], name: String, from: UInt64?, maximum: Int)
    case queueStatus(queue: [UInt8], name: String)
    case queuePosition(queue: [UInt8], name: String, group: String)
}

/// One replica a shard hosts: the ready loop's cell, with the client
/// requests waiting on it, its timer and its snapshots. Owned by one shard's
/// event loop: no locks (hence `@unchecked`: it is only ever touched on that loop).
final class ShardCell: HostedCell, @unchecked Sendable {
    /// Proposed writes by log index, answered when that index is applied.
    private(set) var pendingWrites: [LogIndex: (command: CellCommand, responder: Responder, bytes: Int)] = [:]
    /// Payload bytes of `pendingWrites` (bounded by ``NodeLimits``).
    private(set) var pendingWriteBytes = 0
    /// Strong reads waiting for the leader's lease (or its first commit).
    var pendingReads: [(read: CellRead, responder: Responder)] = []
    var scheduledTick: Scheduled<Void>?
    var scheduledTickAt: Instant?
    var wasLeader = false
    /// The snapshot file this replica made as leader, while its replica holds that snapshot.
    var outgoingSnapshot: SnapshotDescriptor?
    /// The snapshot being written for a follower, on the node's snapshot thread.
    var snapshotBuild: SnapshotBuild?

    /// Whether one more proposal of `bytes` fits the cell's bounds.
    func hasRoomForWrite(bytes: Int) -> Bool {
        pendingWrites.count < NodeLimits.cellPendingWritesMaximum
            && (pendingWrites.isEmpty || pendingWriteBytes + bytes <= NodeLimits.cellPendingWriteBytesMaximum)
    }

    func addPendingWrite(at index: LogIndex, _ command: CellCommand, _ responder: Responder, bytes: Int) {
        pendingWrites[index] = (command, responder, bytes)
        pendingWriteBytes += bytes
    }

    func takePendingWrite(at index: LogIndex) -> (command: CellCommand, responder: Responder)? {
        guard let pending = pendingWrites.removeValue(forKey: index) else { return nil }
        pendingWriteBytes -= pending.bytes
        return (pending.command, pending.responder)
    }

    /// Answers every pending write with `body` (their outcome is no longer known here).
    func answerAllPendingWrites(_ body: ClientResponse.Body) {
        for (_, pending) in pendingWrites { pending.responder.send(body) }
        pendingWrites = [:]
        pendingWriteBytes = 0
    }
}
