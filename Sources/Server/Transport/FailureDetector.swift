import Cell

/// Decides when a silent peer is suspected down. Sans-I/O: it is told when the
/// peer was heard and asked about a given instant.
///
/// A fixed timeout made loaded nodes flap (48 suspicions in 40 s on a node
/// whose cores were busy): heartbeats arrived late, not never. So the timeout
/// follows what the link has shown. It is a multiple of the longest gap
/// between two signs of life in the recent window, and it doubles after each
/// suspicion that turned out false (the peer came back), decaying again while
/// the link stays calm. It never drops below the configured minimum nor grows
/// past the maximum, which bounds how late a real failure is noticed.
struct FailureDetector: Sendable {
    /// Timeout when the link has been calm.
    let timeoutMinimum: Duration
    /// Timeout however jittery the link has been (bounds failover time).
    let timeoutMaximum: Duration

    private(set) var lastHeard: Instant
    /// Longest gaps between signs of life, newest last (a small window).
    private var recentGaps: [Int64] = []
    /// 1, 2, 4, …: grows with each false suspicion, shrinks while calm.
    private(set) var penalty: Int64 = 1
    private var calmSince: Instant

    static let gapsRemembered = 32
    /// The timeout is this many times the longest recent gap.
    static let gapMultiple: Int64 = 3
    /// How long a link must stay unsuspected for the penalty to halve.
    static let calmPeriod: Duration = .seconds(30)
    static let penaltyMaximum: Int64 = 8

    init(timeoutMinimum: Duration, timeoutMaximum: Duration, now: Instant) {
        precondition(timeoutMinimum > .zero && timeoutMaximum >= timeoutMinimum, "failure detector timeouts out of order")
        self.timeoutMinimum = timeoutMinimum
        self.timeoutMaximum = timeoutMaximum
        self.lastHeard = now
        self.calmSince = now
    }

    /// Any bytes from the peer prove it alive.
    mutating func heard(at now: Instant) {
        let gap = (now - lastHeard).nanosecondsValue
        guard gap >= 0 else { return }
        lastHeard = now
        recentGaps.append(gap)
        if recentGaps.count > Self.gapsRemembered { recentGaps.removeFirst() }
        while penalty > 1, now - calmSince >= Self.calmPeriod {
            penalty /= 2
            calmSince = calmSince + Self.calmPeriod
        }
    }

    /// A suspected peer was heard again: the suspicion may have been false, so
    /// the next one waits longer.
    mutating func recovered(at now: Instant) {
        penalty = min(penalty * 2, Self.penaltyMaximum)
        calmSince = now
    }

    /// This node itself could not look for a while (a stalled process or event
    /// loop): silence it could not have seen end is not the peer's fault.
    mutating func forgive(stalledUntil now: Instant) {
        lastHeard = max(lastHeard, now)
    }

    var timeout: Duration {
        let longestGap = recentGaps.max() ?? 0
        let adaptive = max(timeoutMinimum.nanosecondsValue, longestGap * Self.gapMultiple) * penalty
        return .nanoseconds(min(adaptive, timeoutMaximum.nanosecondsValue))
    }

    func isSuspect(at now: Instant) -> Bool {
        now - lastHeard > timeout
    }
}
