/// Copies and fingerprints of a replica, for the exhaustive schedule explorer.
extension CellReplica {
    /// An independent copy: exploring one branch must not disturb another.
    public func clone() -> CellReplica {
        let copy = CellReplica(me: me, configuration: initialConfiguration, options: options, now: .zero, randomSeed: 0)
        copy.role = role
        copy.hardState = hardState
        copy.leader = leader
        copy.configuration = configuration
        copy.log = log
        copy.appliedIndex = appliedIndex
        copy.random = random
        copy.promiseHeldUntil = promiseHeldUntil
        copy.campaignAt = campaignAt
        copy.votes = votes
        copy.probing = probing
        copy.progress = progress
        copy.ballotStartIndex = ballotStartIndex
        copy.leaseUntil = leaseUntil
        copy.commitNoticeDue = commitNoticeDue
        copy.broadcastDue = broadcastDue
        copy.outbox = outbox
        copy.hardStateChanged = hardStateChanged
        copy.hardStateNeedsSync = hardStateNeedsSync
        copy.snapshotToInstall = snapshotToInstall
        copy.snapshotReplacesLog = snapshotReplacesLog
        copy.latestSnapshot = latestSnapshot
        copy.baseConfiguration = baseConfiguration
        copy.snapshotWanted = snapshotWanted
        return copy
    }

    /// Hashes everything that decides the replica's future behaviour, so that
    /// two schedules reaching the same state are explored once.
    public func fingerprint(into hasher: inout Hasher) {
        hasher.combine(role)
        hasher.combine(hardState)
        hasher.combine(leader)
        hasher.combine(configuration)
        hasher.combine(log.snapshotIndex)
        hasher.combine(baseConfiguration)
        hasher.combine(snapshotWanted)
        hasher.combine(log.entries)
        hasher.combine(log.stableIndex)
        hasher.combine(appliedIndex)
        hasher.combine(promiseHeldUntil)
        hasher.combine(campaignAt)
        hasher.combine(votes.sorted())
        hasher.combine(probing)
        for peer in configuration {
            if let state = progress[peer] {
                hasher.combine(peer)
                hasher.combine(state.nextIndex)
                hasher.combine(state.matchIndex)
                hasher.combine(state.lastSentAt)
                hasher.combine(state.acknowledgedSentAt)
                hasher.combine(state.commitSent)
                hasher.combine(state.inflight)
                hasher.combine(state.paused)
            }
        }
        hasher.combine(ballotStartIndex)
        hasher.combine(leaseUntil)
        hasher.combine(commitNoticeDue)
        hasher.combine(broadcastDue)
    }
}
