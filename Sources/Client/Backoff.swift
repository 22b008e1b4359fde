/// Exponential backoff with jitter: the n-th pause is drawn uniformly from
/// [b/2, b], where b = min(initial × 2^n, maximum).
struct Backoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private(set) var failures = 0

    init(initial: Duration, maximum: Duration) {
        self.initial = max(initial, .zero)
        self.maximum = max(maximum, .zero)
    }

    /// The ceiling of the next pause, before jitter.
    var nextCeiling: Duration {
        let doubled = initial * (1 << min(failures, 32))
        return min(doubled, maximum)
    }

    mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let ceiling = nextCeiling.totalNanoseconds
        failures += 1
        guard ceiling > 1 else { return .nanoseconds(max(ceiling, 0)) }
        return .nanoseconds(Int64.random(in: (ceiling / 2)...ceiling, using: &random))
    }

    mutating func reset() { failures = 0 }
}
