/// The leader lease: strongly consistent reads without a round trip.
extension CellReplica {
    /// The lease runs from the oldest `sentAt` that, with the leader itself,
    /// makes a quorum of acknowledgements in this ballot: every follower in that
    /// quorum promised no one else for a lease duration after receiving it.
    func updateLease() {
        var acknowledged = configuration.compactMap { member -> Instant? in
            member == me ? Instant(nanoseconds: .max) : progress[member]?.acknowledgedSentAt
        }
        guard acknowledged.count >= quorum else { return }
        acknowledged.sort(by: >)
        let base = acknowledged[quorum - 1]
        let until = base + options.leaderLeaseDuration
        leaseUntil = max(leaseUntil ?? until, until)
    }

    /// Whether a strongly consistent read may be answered from this replica's
    /// applied state now.
    public func canServeLeaseRead(now: Instant) -> Bool {
        guard role == .leader, commitIndexReachedBallot, appliedIndex >= hardState.commitIndex else { return false }
        if configuration == [me] { return true }
        if options.plantedBug == .leaseReadAfterExpiry { return leaseUntil != nil }
        guard let leaseUntil else { return false }
        return now < leaseUntil
    }

    /// Asks every follower for a fresh acknowledgement, to renew an expired lease.
    public func renewLease(now: Instant) {
        guard role == .leader else { return }
        for peer in configuration where peer != me { sendAccept(to: peer, now: now) }
    }
}
