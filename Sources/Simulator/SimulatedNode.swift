import Cell
import CellHost
import Storage

/// One replica hosted on a simulated node: the ready loop's cell, with the
/// client requests waiting on it.
final class SimulatedCell: HostedCell {
    /// Proposed writes by log index, answered when that index is applied.
    var pendingWrites: [LogIndex: ClientRequest] = [:]
    /// Strong reads waiting for a (renewed) lease.
    var pendingReads: [ClientRequest] = []
    /// The real time of the tick event already queued, if any.
    var scheduledTick: Int64?

    /// The simulator's register `key` is the item with that collection and an empty sort key.
    func value(of key: String) throws -> String? {
        try stateMachine.read(ItemKey(collection: Array(key.utf8))).map { String(decoding: $0.value, as: UTF8.self) }
    }
}

/// A machine of the simulated cluster: a drifting clock, a disk that
/// survives its crashes, the node's store and ready loop on that disk (the
/// server's code), and its view of which peers are alive.
final class SimulatedNode {
    let id: NodeID
    var isUp = true
    /// Bumped at every crash, so that events of a dead incarnation are ignored.
    var incarnation = 0
    /// Local clock = offset + real × rate.
    var clockOffset: Int64
    var clockRate: Double
    /// The node's disk: what was synced survives a crash; the rest is lost or torn.
    let disk = SimulatedDisk()
    /// Snapshots being installed, kept across crashes as synced files are.
    let installFilesKept = MemoryInstallFiles()
    /// The store and ready loop of the running incarnation (nil while down).
    var store: Store?
    var pipeline: ReadyLoop<SimulatedNode>?
    /// A group commit round is written and its sync is under way, or about to start.
    var commitRoundScheduled = false
    var passEndScheduled = false
    var lastHeard: [NodeID: Int64] = [:]
    var suspected: Set<NodeID> = []
    /// While paused, the node's events wait until this real time, in order.
    var pausedUntil: Int64?
    unowned let simulation: Simulation

    init(id: NodeID, clockOffset: Int64, clockRate: Double, simulation: Simulation) {
        self.id = id
        self.clockOffset = clockOffset
        self.clockRate = clockRate
        self.simulation = simulation
    }

    func hosted(_ cell: Int) -> SimulatedCell? { pipeline?.cells[UInt64(cell)] }

    /// The cells this node hosts, in order (none while down).
    var hostedCells: [Int] { (pipeline?.cells.keys.map { Int($0) } ?? []).sorted() }

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
