// The record of one `tessera-bench peers` run: everything measured, raw per
// repeat, so that the summary, tables and charts derive from it and a later
// reader can recompute them from the JSON file.
import LoadGeneration

/// One run of `tessera-bench peers`.
public struct PeerBenchResults: Codable, Sendable {
    /// ISO 8601 date and time the run began (UTC).
    public var startedAt: String
    /// "quick" or "full".
    public var mode: String
    /// The command line that reproduces it.
    public var command: String
    public var machine: MachineDescription
    public var settings: Settings
    /// Every system measured, with the interface its driver used.
    public var systems: [SystemDescription]
    /// Physical limits, one sample per repeat.
    public var physical: [PhysicalSample]
    /// Every run, one per repeat × section × operation × clients × system.
    public var runs: [RunRecord]
    /// Which Tessera figure is compared with which peer's.
    public var comparisons: [Comparison]
    /// Wall-clock seconds the whole run took (servers, preloads and runs).
    public var totalSeconds: Double
    /// What a reader must know to read the figures right.
    public var notes: [String]

    public init(
        startedAt: String, mode: String, command: String, machine: MachineDescription, settings: Settings,
        systems: [SystemDescription], physical: [PhysicalSample], runs: [RunRecord], comparisons: [Comparison],
        totalSeconds: Double, notes: [String]
    ) {
        self.startedAt = startedAt
        self.mode = mode
        self.command = command
        self.machine = machine
        self.settings = settings
        self.systems = systems
        self.physical = physical
        self.runs = runs
        self.comparisons = comparisons
        self.totalSeconds = totalSeconds
        self.notes = notes
    }

    public struct MachineDescription: Codable, Sendable {
        public var cpu: String
        public var cores: Int
        public var memoryGiB: Double
        public var kernel: String
        /// The file system and device the servers' data lived on.
        public var dataDisk: String
        /// Versions of Tessera's build and of each peer, as their binaries report them.
        public var versions: [String: String]

        public init(cpu: String, cores: Int, memoryGiB: Double, kernel: String, dataDisk: String, versions: [String: String]) {
            self.cpu = cpu
            self.cores = cores
            self.memoryGiB = memoryGiB
            self.kernel = kernel
            self.dataDisk = dataDisk
            self.versions = versions
        }
    }

    public struct Settings: Codable, Sendable {
        public var repeats: Int
        public var warmUpSeconds: Double
        public var secondsPerRun: Double
        public var clients: [Int]
        public var valueBytes: Int
        public var keys: Int
        public var keyDistribution: String

        public init(
            repeats: Int, warmUpSeconds: Double, secondsPerRun: Double, clients: [Int], valueBytes: Int, keys: Int,
            keyDistribution: String
        ) {
            self.repeats = repeats
            self.warmUpSeconds = warmUpSeconds
            self.secondsPerRun = secondsPerRun
            self.clients = clients
            self.valueBytes = valueBytes
            self.keys = keys
            self.keyDistribution = keyDistribution
        }
    }

    public struct SystemDescription: Codable, Sendable {
        /// Unique id used by runs and comparisons, such as "tessera-3", "etcd-3", "redis".
        public var id: String
        /// What the table shows, such as "Tessera, 3 nodes".
        public var label: String
        /// "single" (one node, durable), "replicated" (3 nodes, durable) or "tls" (replicated, every link TLS).
        public var section: String
        /// The protocol or interface the load generator used with it.
        public var interface: String
        /// How it was configured for durability, and anything else that matters.
        public var configuration: String
        /// True for Tessera's own systems.
        public var isTessera: Bool

        public init(id: String, label: String, section: String, interface: String, configuration: String, isTessera: Bool) {
            self.id = id
            self.label = label
            self.section = section
            self.interface = interface
            self.configuration = configuration
            self.isTessera = isTessera
        }
    }

    /// One repeat's physical limits.
    public struct PhysicalSample: Codable, Sendable {
        public var repeatIndex: Int
        /// 4 KiB append + fdatasync, in milliseconds.
        public var fsyncP50Milliseconds: Double
        public var fsyncP99Milliseconds: Double
        /// 1-byte TCP ping-pong over 127.0.0.1, in milliseconds.
        public var loopbackP50Milliseconds: Double
        public var loopbackP99Milliseconds: Double
        /// Sequential O_DIRECT writes, in MB/s (10^6 bytes), and the tool that measured them.
        public var directWriteMegabytesPerSecond: Double?
        public var directWriteTool: String?

        public init(
            repeatIndex: Int, fsyncP50Milliseconds: Double, fsyncP99Milliseconds: Double, loopbackP50Milliseconds: Double,
            loopbackP99Milliseconds: Double, directWriteMegabytesPerSecond: Double?, directWriteTool: String?
        ) {
            self.repeatIndex = repeatIndex
            self.fsyncP50Milliseconds = fsyncP50Milliseconds
            self.fsyncP99Milliseconds = fsyncP99Milliseconds
            self.loopbackP50Milliseconds = loopbackP50Milliseconds
            self.loopbackP99Milliseconds = loopbackP99Milliseconds
            self.directWriteMegabytesPerSecond = directWriteMegabytesPerSecond
            self.directWriteTool = directWriteTool
        }
    }

    /// One measured run.
    public struct RunRecord: Codable, Sendable {
        public var repeatIndex: Int
        /// "single", "replicated" or "tls".
        public var section: String
        /// `LoadOperation.label`: "put", "linearizable get", "eventual get".
        public var operation: String
        public var system: String
        public var clients: Int
        public var result: LoadRunResult

        public init(repeatIndex: Int, section: String, operation: String, system: String, clients: Int, result: LoadRunResult) {
            self.repeatIndex = repeatIndex
            self.section = section
            self.operation = operation
            self.system = system
            self.clients = clients
            self.result = result
        }
    }

    /// A Tessera system and the peer it is compared with, for some operations.
    public struct Comparison: Codable, Sendable {
        public var section: String
        public var tessera: String
        public var peer: String
        /// Operation labels this pair is compared on.
        public var operations: [String]

        public init(section: String, tessera: String, peer: String, operations: [String]) {
            self.section = section
            self.tessera = tessera
            self.peer = peer
            self.operations = operations
        }
    }
}
