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

    /// Whether the followers the node layer does not suspect, with this leader,
    /// make a quorum: otherwise no write can commit and no lease can be renewed.
    public var reachesQuorum: Bool {
        guard role == .leader else { return false }
        let reachable = configuration.count { member in member == me || progress[member].map { !$0.paused } ?? false }
        return reachable >= quorum
    }

    /// A leader cut off from a quorum steps down once its lease has run out, so
    /// that clients reaching it are told "not leader" at once rather than
    /// waiting on a write that cannot commit (the majority elects meanwhile).
    func stepDownIfCutOff(now: Instant) {
        guard role == .leader, !reachesQuorum, now >= (leaseUntil ?? .zero) else { return }
        becomeFollower(ballot: hardState.ballot, leader: nil, now: now)
    }

    /// Asks every follower for a fresh acknowledgement, to renew an expired lease.
    public func renewLease(now: Instant) {
        guard role == .leader else { return }
        for peer in configuration where peer != me { sendAccept(to: peer, now: now) }
    }
}
