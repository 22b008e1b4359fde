/// How far the checker may search before answering `.timedOut` instead of hanging.
public struct CheckLimits: Sendable {
    /// Search configurations (linearized operations, state) explored per key.
    /// Deterministic, and bounds memory too: each costs about n/8 bytes for a key
    /// with n operations.
    public var maxStatesPerKey: Int
    /// A wall-clock bound on the whole check; nil for none. It makes the answer
    /// depend on the machine's speed, so tests should prefer `maxStatesPerKey`.
    public var timeout: Duration?

    public init(maxStatesPerKey: Int = 1_000_000, timeout: Duration? = nil) {
        self.maxStatesPerKey = maxStatesPerKey
        self.timeout = timeout
    }
}
