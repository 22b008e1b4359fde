import Cell
import CellHost
import Keyspace
import Linearizability
import Storage

/// A deterministic simulation of a cluster: one thread, one seeded generator,
/// simulated clocks, network and disks. The same seed and options replay the
/// same run event for event; a failing seed is a reproducible bug.
public final class Simulation {
    enum Event {
        case deliver(from: NodeID, to: NodeID, cell: Int, message: CellMessage)
        /// The end of a pass of a node's loop: its queued readies start a group commit.
        case passEnd(node: NodeID, incarnation: Int)
        /// A commit round's write reaches the disk (unsynced), then its sync completes.
        case diskWrite(node: NodeID, incarnation: Int)
        case diskSynced(node: NodeID, incarnation: Int)
        /// Work the store handed back to the node's loop (a completed commit).
        case run(node: NodeID, incarnation: Int, @Sendable () -> Void)
        /// The node's disk failed: it stops, as a real node does, and restarts later.
        case diskFailed(node: NodeID, incarnation: Int)
        case tick(node: NodeID, cell: Int, incarnation: Int)
        case heartbeatRound(node: NodeID, incarnation: Int)
        case heartbeat(from: NodeID, to: NodeID)
        case request(to: NodeID, ClientRequest)
        case response(client: Int, operation: Int, ClientResponse)
        case clientNext(client: Int)
        case clientDeadline(client: Int, operation: Int)
        case crash(node: NodeID)
        case restart(node: NodeID)
        case pause(node: NodeID)
        case partition
        case heal
        case endFaults
        case stopClients
    }

    public let options: SimulationOptions
    var random: SimulationRandom
    var queue = EventQueue<Event>()
    var now: Int64 = 0
    var nodes: [SimulatedNode] = []
    var clients: [SimulatedClient] = []
    var cellReplicas: [[NodeID]] = []
    /// Bits of pointer prefix that name a cell, and each cell's keys (whose pointers have its prefix).
    var cellDepth = 0
    var cellKeys: [[String]] = []
    /// Queue collections per cell (several, so that each queue's history stays short enough to check).
    var cellQueues: [[String]] = []
    var blocked: Set<[UInt32]> = []
    var faultsActive = true
    var clientsActive = true
    var history: [Linearizability.Operation<RegisterInput, RegisterOutput>] = []
    var queueHistory: [Linearizability.Operation<QueueInput, QueueOutput>] = []
    /// The highest sequence number an append got, per queue (to pick reads and trims near it).
    var queueTails: [String: UInt64] = [:]
    var nextOperation = 0
    var writtenValues: [String: Set<String>] = [:]
    /// First committed entry seen at each (cell, index): a committed slot never changes.
    var committedEntries: [Int: [LogIndex: LogEntry]] = [:]
    var leaderOfBallot: [Int: [Ballot: NodeID]] = [:]
    public internal(set) var report = SimulationReport()

    static let heartbeatInterval: Int64 = 50_000_000
    static let suspicionTimeout: Int64 = 250_000_000
    static let operationTimeout: Int64 = 400_000_000

    public init(options: SimulationOptions) {
        self.options = options
        random = SimulationRandom(seed: options.seed)
        report.seed = options.seed
        setUp()
    }

    private func setUp() {
        let drift = options.faults.contains(.drift) ? options.cellOptions.clockDriftMaximum * 0.9 : 0
        for index in 0..<options.nodes {
            let rate = 1 + (Double(random.next() >> 11) * 0x1p-53 * 2 - 1) * drift
            let offset = random.nanoseconds(0...5_000_000_000)
            nodes.append(SimulatedNode(id: NodeID(UInt32(index)), clockOffset: offset, clockRate: rate, simulation: self))
        }
        cellDepth = max(1, Int.bitWidth - (options.cells - 1).leadingZeroBitCount)
        cellKeys = Self.keys(cells: options.cells, perCell: options.keysPerCell, depth: cellDepth)
        cellQueues = Self.keys(cells: options.cells, perCell: Self.queuesPerCell, depth: cellDepth, prefix: "q")
        for cell in 0..<options.cells {
            cellReplicas.append((0..<options.replicas).map { NodeID(UInt32((cell + $0) % options.nodes)) })
        }
        if let failure = options.diskFailure { nodes[failure.node].disk.crashAtOperation = failure.operation }
        for node in nodes {
            start(node)
            push(.heartbeatRound(node: node.id, incarnation: 0), after: random.nanoseconds(0...Self.heartbeatInterval))
        }
        clients = (0..<options.clients).map { SimulatedClient(id: $0) }
        for client in clients.indices { push(.clientNext(client: client), after: random.nanoseconds(1_000_000...20_000_000)) }
        if options.faults.contains(.crash) { push(.crash(node: randomNode()), after: random.nanoseconds(500_000_000...3_000_000_000)) }
        if options.faults.contains(.partition) { push(.partition, after: random.nanoseconds(500_000_000...3_000_000_000)) }
        if options.faults.contains(.pause) { push(.pause(node: randomNode()), after: random.nanoseconds(500_000_000...3_000_000_000)) }
        push(.endFaults, after: options.faultPhase.nanosecondsValue)
    }

    /// Runs the fault phase, then the healed phase, checking invariants after
    /// every event; returns the report (also in ``report``).
    @discardableResult
    public func run() -> SimulationReport {
        let end = options.faultPhase.nanosecondsValue + options.livenessBound.nanosecondsValue
        while report.violation == nil, let (time, event) = queue.pop(), time <= end {
            if options.eventsMaximum > 0 && report.events >= options.eventsMaximum { break }
            if options.eventBudget > 0 && report.events >= options.eventBudget {
                violation("\(options.eventBudget) events by simulated time \(Double(time) / 1e6) ms, the budget: an event storm (a livelock)")
                break
            }
            now = time
            report.events += 1
            handle(event)
        }
        now = end
        if report.violation == nil {
            checkLiveness()
            report.live = report.violation == nil
        }
        // Safety is judged whatever else failed: a stuck cell must not hide a bad history.
        checkHistory()
        checkQueueHistory()
        report.simulatedSeconds = Double(now) / 1e9
        report.checkpoints = nodes.reduce(0) { $0 + Int($1.store?.statistics.checkpointGeneration ?? 0) }
        return report
    }

    func push(_ event: Event, after delay: Int64) {
        queue.push(event, at: now + max(delay, 0))
    }

    /// The first `perCell` names `k0`, `k1`, … whose pointers fall in each cell, as a node's placement finds them.
    static func keys(cells: Int, perCell: Int, depth: Int, prefix: String = "k") -> [[String]] {
        var keys = [[String]](repeating: [], count: cells)
        var next = 0
        while keys.contains(where: { $0.count < perCell }) {
            let name = "\(prefix)\(next)"
            next += 1
            let cell = Int(Pointer(hashing: Array(name.utf8)).leadingWord >> UInt64(64 - depth))
            if cell < cells, keys[cell].count < perCell { keys[cell].append(name) }
        }
        return keys
    }

    func randomNode() -> NodeID { NodeID(UInt32(random.int(0..<options.nodes))) }

    func violation(_ message: String) {
        if report.violation == nil {
            report.violation = "at \(Double(now) / 1e6) ms (event \(report.events)): \(message)"
        }
    }
}
