import Cell

/// One replica hosted on a simulated node, with its state machine and the
/// client requests waiting on it.
final class HostedReplica {
    let cell: Int
    var replica: CellReplica
    var stateMachine = CellStateMachine()
    /// Proposed writes by log index, answered when that index is applied.
    var pendingWrites: [LogIndex: ClientRequest] = [:]
    /// Strong reads waiting for a (renewed) lease.
    var pendingReads: [ClientRequest] = []
    /// The real time of the tick event already queued, if any.
    var scheduledTick: Int64?

    init(cell: Int, replica: CellReplica) {
        self.cell = cell
        self.replica = replica
    }

    /// The simulator's register `key` is the item with that collection and an empty sort key.
    func value(of key: String) -> String? {
        stateMachine.read(ItemKey(collection: Array(key.utf8))).map { String(decoding: $0.value, as: UTF8.self) }
    }
}

extension PersistedReplicaState {
    static let empty = PersistedReplicaState(hardState: HardState(), snapshot: nil, entries: [])

    /// The node's own compaction: the snapshot replaces the entries it covers.
    mutating func compact(_ snapshot: Snapshot) {
        self.snapshot = snapshot
        base = LogBase(index: snapshot.index, ballot: snapshot.ballot, configuration: snapshot.configuration)
        entries.removeAll { $0.index <= snapshot.index }
    }
}

/// A machine of the simulated cluster: a drifting clock, a disk with group
/// commit, the replicas it hosts, and its view of which peers are alive.
final class SimulatedNode {
    let id: NodeID
    var isUp = true
    /// Bumped at every crash, so that events of a dead incarnation are ignored.
    var incarnation = 0
    /// Local clock = offset + real × rate.
    var clockOffset: Int64
    var clockRate: Double
    var hosted: [Int: HostedReplica] = [:]
    /// What the node wrote for each cell's replica: survives crashes.
    var durable: [Int: PersistedReplicaState] = [:]
    /// Readies waiting for the disk, oldest first; `syncing` are the ones the running fsync covers.
    var diskQueue: [(cell: Int, ready: Ready)] = []
    var syncing: [(cell: Int, ready: Ready)] = []
    var lastHeard: [NodeID: Int64] = [:]
    var suspected: Set<NodeID> = []
    /// While paused, the node's events wait until this real time, in order.
    var pausedUntil: Int64?

    init(id: NodeID, clockOffset: Int64, clockRate: Double) {
        self.id = id
        self.clockOffset = clockOffset
        self.clockRate = clockRate
    }

    func localNow(_ real: Int64) -> Instant {
        Instant(nanoseconds: clockOffset + Int64((Double(real) * clockRate).rounded(.down)))
    }

    /// The real time at which this node's clock reads `local` (never before `after`).
    func realTime(of local: Instant, after: Int64) -> Int64 {
        let real = Int64((Double(local.nanoseconds - clockOffset) / clockRate).rounded(.up))
        var time = max(real, after)
        while localNow(time) < local { time += 1 }
        return time
    }
}
