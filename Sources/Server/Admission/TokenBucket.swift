import Cell

/// A token bucket: `ratePerSecond` units flow in, up to `burst` are kept.
/// Sans-I/O: the caller says what time it is.
struct TokenBucket: Sendable {
    let ratePerSecond: Double
    let burst: Double
    private(set) var tokens: Double
    private var updatedAt: Instant

    init(ratePerSecond: Double, burst: Double, now: Instant) {
        precondition(ratePerSecond > 0 && burst >= 1, "a token bucket needs a positive rate and room for one unit")
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.tokens = burst
        self.updatedAt = now
    }

    private mutating func refill(_ now: Instant) {
        guard now > updatedAt else { return }
        tokens = min(burst, tokens + Double((now - updatedAt).nanosecondsValue) / 1e9 * ratePerSecond)
        updatedAt = now
    }

    /// Takes `units` if the bucket holds at least one; a request larger than
    /// what is left (or than the burst) still passes and leaves the bucket in
    /// debt, so big requests are never refused forever, only paid for later.
    mutating func take(_ units: Double, now: Instant) -> Bool {
        refill(now)
        guard tokens >= 1 else { return false }
        tokens -= units
        return true
    }

    /// Whether the bucket would be full at `now`: it then says nothing a fresh one would not.
    func isFull(now: Instant) -> Bool {
        var refilled = self
        refilled.refill(now)
        return refilled.tokens >= burst
    }
}
