import Cell
import Linearizability

/// A deterministic simulation of a cluster: one thread, one seeded generator,
/// simulated clocks, network and disks. The same seed and options replay the
/// same run event for event; a failing seed is a reproducible bug.
public final class Simulation {
    enum Event {
        case deliver(from: NodeID, to: NodeID, cell: Int, message: CellMessage)
        case diskSynced(node: NodeID, incarnation: Int)
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
    var blocked: Set<[UInt32]> = []
    var faultsActive = true
    var clientsActive = true
    var history: [Linearizability.Operation<RegisterInput, RegisterOutput>] = []
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
            nodes.append(SimulatedNode(id: NodeID(UInt32(index)), clockOffset: offset, clockRate: rate))
        }
        for cell in 0..<options.cells {
            let members = (0..<options.replicas).map { NodeID(UInt32((cell + $0) % options.nodes)) }
            cellReplicas.append(members)
            for member in members {
                let node = nodes[Int(member.rawValue)]
                let replica = CellReplica(
                    me: member, configuration: members, options: options.cellOptions, now: node.localNow(0),
                    randomSeed: random.next())
                node.hosted[cell] = HostedReplica(cell: cell, replica: replica)
                node.durable[cell] = .empty
            }
        }
        for node in nodes {
            for cell in node.hosted.keys.sorted() { scheduleTick(node, cell) }
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
        report.simulatedSeconds = Double(now) / 1e9
        return report
    }

    func push(_ event: Event, after delay: Int64) {
        queue.push(event, at: now + max(delay, 0))
    }

    func randomNode() -> NodeID { NodeID(UInt32(random.int(0..<options.nodes))) }

    func violation(_ message: String) {
        if report.violation == nil {
            report.violation = "at \(Double(now) / 1e6) ms (event \(report.events)): \(message)"
        }
    }
}
