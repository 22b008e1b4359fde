import Cell
import Storage

/// Faults the simulator can inject; all are on by default.
public enum SimulatedFault: String, Sendable, CaseIterable, Codable {
    /// Messages are lost.
    case drop
    /// Messages arrive late, out of order.
    case delay
    /// Messages arrive twice.
    case duplicate
    /// Groups of nodes cannot reach each other, then heal.
    case partition
    /// Nodes crash (losing unsynced writes, tearing the last) and restart.
    case crash
    /// Node clocks run fast or slow, within the drift bound.
    case drift
    /// A node stops running for a while (a stalled process, SIGSTOP, busy
    /// cores), then resumes where it was, unaware that time passed: a leader
    /// that was deposed meanwhile acts on its old ballot until told.
    case pause
}

/// One simulation run: everything that decides it, so that it reproduces.
public struct SimulationOptions: Sendable, Hashable {
    public var seed: UInt64 = 1
    /// Simulated time with faults, then the same again healed for the liveness check.
    public var faultPhase: Duration = .seconds(20)
    public var livenessBound: Duration = .seconds(15)
    public var nodes = 5
    public var cells = 4
    public var replicas = 3
    public var clients = 6
    public var keysPerCell = 2
    public var faults: Set<SimulatedFault> = Set(SimulatedFault.allCases)
    public var plantedBug: PlantedBug?
    /// Compact a replica's log once this many entries are applied beyond its snapshot.
    public var compactionInterval: UInt64 = 40
    /// Applied log bytes a leader keeps for followers a little behind: none on
    /// odd seeds (every follower behind the log's base gets a snapshot, so
    /// installs stay common), a little on even ones (catching up from the log).
    public var followerHoldBytes: Int { seed % 2 == 0 ? 32 << 10 : 0 }
    /// With crash faults, one install in this many is followed at once by a
    /// power loss, before its writes are durable, so that the node finishes it
    /// from the retained snapshot at its restart (0: never). Off by default: it
    /// changes every seed's course (`tessera simulate` turns it on).
    public var crashAfterInstallOneIn = 0
    /// Stop after this many events (0: no cap), as if time ran out.
    public var eventsMaximum = 0
    /// A seed that needs more events than this fails: a storm of events that
    /// never lets simulated time reach its end is a livelock, and would
    /// otherwise hang a range run while its memory grows (0: no budget).
    public var eventBudget = 5_000_000
    /// A planned disk failure: the node's disk fails at its `operation`-th
    /// data operation (a write, sync or truncation, counted from its start),
    /// the node stops, and `loss` says what its unsynced writes left behind.
    /// The crash test runs one seed with this at every operation in turn.
    public var diskFailure: DiskFailure?

    /// Client operations in all (0: no cap): a small workload for exhaustive crash tests.
    public var operationsMaximum = 0
    /// A node's store checkpoints once its WAL grew by this much: small, so that seeds cross checkpoints.
    public var checkpointWALBytes = 96 << 10

    public struct DiskFailure: Sendable, Hashable, CustomStringConvertible {
        public var node: Int
        public var operation: Int
        public var loss: SimulatedDisk.CrashLoss

        public init(node: Int, operation: Int, loss: SimulatedDisk.CrashLoss) {
            self.node = node
            self.operation = operation
            self.loss = loss
        }

        /// `NODE:OPERATION:LOSS`, the loss `lose-all`, `keep-all`, `tear-BYTES` or `subset-HEXMASK`.
        public var description: String {
            let loss = switch loss {
            case .loseAll: "lose-all"
            case .keepAll: "keep-all"
            case .tearLast(let bytes): "tear-\(bytes)"
            case .subset(let mask): "subset-\(String(mask, radix: 16))"
            }
            return "\(node):\(operation):\(loss)"
        }

        /// Parses ``description``'s form; nil when it is not that.
        public init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, let node = Int(parts[0]), node >= 0, let operation = Int(parts[1]), operation >= 1 else {
                return nil
            }
            let loss: SimulatedDisk.CrashLoss
            switch parts[2] {
            case "lose-all": loss = .loseAll
            case "keep-all": loss = .keepAll
            case let tear where tear.hasPrefix("tear-"):
                guard let bytes = Int(tear.dropFirst(5)), bytes >= 0 else { return nil }
                loss = .tearLast(keepingBytes: bytes)
            case let subset where subset.hasPrefix("subset-"):
                guard let mask = UInt64(subset.dropFirst(7), radix: 16) else { return nil }
                loss = .subset(mask: mask)
            default: return nil
            }
            self.init(node: node, operation: operation, loss: loss)
        }
    }

    public init() {}

    public static func == (lhs: SimulationOptions, rhs: SimulationOptions) -> Bool {
        lhs.seed == rhs.seed && lhs.faultPhase == rhs.faultPhase && lhs.nodes == rhs.nodes && lhs.cells == rhs.cells
            && lhs.replicas == rhs.replicas && lhs.clients == rhs.clients && lhs.faults == rhs.faults
            && lhs.plantedBug == rhs.plantedBug && lhs.diskFailure == rhs.diskFailure
            && lhs.operationsMaximum == rhs.operationsMaximum && lhs.livenessBound == rhs.livenessBound
            && lhs.checkpointWALBytes == rhs.checkpointWALBytes && lhs.crashAfterInstallOneIn == rhs.crashAfterInstallOneIn
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(seed) }

    /// Consensus timing used by every replica of the run.
    var cellOptions: CellOptions {
        var options = CellOptions()
        options.leaseDuration = .milliseconds(400)
        options.clockDriftMaximum = 0.02
        options.electionTimeout = .milliseconds(150)
        options.retransmitInterval = .milliseconds(40)
        options.plantedBug = plantedBug
        return options
    }
}
