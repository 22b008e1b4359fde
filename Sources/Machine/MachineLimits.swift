/// What one invocation may use. Every limit is checked by the host, and going
/// past one ends the invocation with ``MachineError/limitExceeded(_:_:)``
/// naming it; the host calls already made stand (the global memory is not
/// transactional).
public struct MachineLimits: Sendable, Equatable {
    /// WasmKit fuel: about one unit per executed WebAssembly operator.
    public var fuel: UInt64
    /// The most linear memory the guest may have, in bytes (initial plus growth).
    public var memoryBytes: Int
    /// Wall-clock time from the invocation's start, checked at every host call
    /// (a guest that never calls the host is bounded by its fuel instead).
    public var deadline: Duration
    /// Host calls (`pointer`, `load`, `compare`, `write`, `cas`, `unique_id`, `log`).
    public var hostCalls: Int

    public init(fuel: UInt64 = 50_000_000, memoryBytes: Int = 16 << 20, deadline: Duration = .seconds(10),
                hostCalls: Int = 10_000) {
        self.fuel = fuel
        self.memoryBytes = memoryBytes
        self.deadline = deadline
        self.hostCalls = hostCalls
    }

    public static let defaults = MachineLimits()

    /// Fuel each host call costs on top of the guest's own instructions, so
    /// that a program's fuel also bounds the work it asks of the cluster.
    public static let hostCallFuel: UInt64 = 1_000
    /// A word of the global memory is an rnd item of at most 4 KiB.
    public static let wordBytesMaximum = 4096
    /// A deployed module is stored as one item.
    public static let moduleBytesMaximum = 256 << 10
    /// Integer arguments of one invocation.
    public static let argumentsMaximum = 16
    /// Log lines an invocation may return, and the bytes of each (longer lines are cut).
    public static let logLinesMaximum = 64
    public static let logLineBytesMaximum = 512
    /// Program names: letters, digits, `.`, `_` and `-`.
    public static let programNameLengthRange = 1...128
}

/// The limit an invocation went past.
public enum MachineLimit: String, Sendable, Equatable, CaseIterable {
    case fuel
    case memory
    case deadline
    case hostCalls = "host-calls"
}
