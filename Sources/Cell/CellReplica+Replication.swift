/// Phase 2: accepting entries, committing, catching up and snapshots.
extension CellReplica {
    func broadcastAccept(now: Instant) {
        for peer in configuration where peer != me { sendAccept(to: peer, now: now) }
        maybeCommit(now: now)
    }

    /// Sends the follower what it lacks from `nextIndex` on (or nothing but the
    /// commit index and a lease renewal, if it lacks nothing).
    func sendAccept(to peer: NodeID, now: Instant) {
        guard var state = progress[peer] else { return }
        if state.nextIndex < log.firstIndex {
            guard let snapshot = latestSnapshot else { return }
            send(.installSnapshot(ballot: hardState.ballot, snapshot: snapshot, sentAt: now), to: peer)
        } else {
            let previousIndex = state.nextIndex - 1
            guard let previousBallot = log.ballot(at: previousIndex) else { return }
            let entries = log.entries(from: state.nextIndex, maximumCount: options.entriesPerMessageMaximum)
            send(.accept(ballot: hardState.ballot, previousIndex: previousIndex, previousBallot: previousBallot,
                         entries: entries, commitIndex: hardState.commitIndex, sentAt: now), to: peer)
            // Pipelining: later entries go out right behind these, before the answer.
            state.nextIndex += LogIndex(entries.count)
            state.commitSent = hardState.commitIndex
        }
        state.lastSentAt = now
        progress[peer] = state
    }

    func handleAccept(
        ballot: Ballot, previousIndex: LogIndex, previousBallot: Ballot, entries: [LogEntry],
        commitIndex: LogIndex, sentAt: Instant, from: NodeID, now: Instant
    ) {
        if ballot < hardState.ballot && options.plantedBug != .acceptLowerBallot {
            // A deposed leader: tell it the ballot that replaced it.
            send(.accepted(ballot: hardState.ballot, success: false, matchIndex: 0, sentAt: sentAt), to: from)
            return
        }
        if ballot > hardState.ballot || role != .follower || leader != from {
            becomeFollower(ballot: max(ballot, hardState.ballot), leader: from, now: now)
        }
        promiseHeldUntil = now + options.leaseDuration
        campaignAt = nil
        guard previousIndex <= log.lastIndex,
            previousIndex < log.snapshotIndex || log.ballot(at: previousIndex) == previousBallot
        else {
            // Our log does not hold the leader's previous entry: ask for earlier ones.
            let hint = min(log.lastIndex, previousIndex > 0 ? previousIndex - 1 : 0)
            send(.accepted(ballot: hardState.ballot, success: false, matchIndex: max(hint, hardState.commitIndex), sentAt: sentAt), to: from)
            return
        }
        log.merge(entries)
        let lastNew = previousIndex + LogIndex(entries.count)
        setCommitIndex(min(commitIndex, lastNew))
        send(.accepted(ballot: hardState.ballot, success: true, matchIndex: max(lastNew, log.snapshotIndex), sentAt: sentAt), to: from)
    }

    func handleAccepted(ballot: Ballot, success: Bool, matchIndex: LogIndex, sentAt: Instant, from: NodeID, now: Instant) {
        if ballot > hardState.ballot {
            becomeFollower(ballot: ballot, leader: nil, now: now)
            return
        }
        guard role == .leader, ballot == hardState.ballot, var state = progress[from] else { return }
        state.acknowledgedSentAt = max(state.acknowledgedSentAt ?? sentAt, sentAt)
        if success {
            state.matchIndex = max(state.matchIndex, matchIndex)
            state.nextIndex = max(state.nextIndex, state.matchIndex + 1)
            if state.matchIndex >= log.lastIndex { state.lastSentAt = nil }
            progress[from] = state
            updateLease()
            maybeCommit(now: now)
            if let latest = progress[from] {
                if latest.nextIndex <= log.lastIndex {
                    sendAccept(to: from, now: now)
                } else if latest.commitSent < hardState.commitIndex, commitNoticeDue == nil {
                    commitNoticeDue = now + options.commitNoticeDelay
                }
            }
        } else {
            state.nextIndex = max(min(state.nextIndex - 1, matchIndex + 1), state.matchIndex + 1, 1)
            progress[from] = state
            updateLease()
            sendAccept(to: from, now: now)
        }
    }

    func handleInstallSnapshot(ballot: Ballot, snapshot: Snapshot, sentAt: Instant, from: NodeID, now: Instant) {
        if ballot < hardState.ballot {
            send(.accepted(ballot: hardState.ballot, success: false, matchIndex: 0, sentAt: sentAt), to: from)
            return
        }
        if ballot > hardState.ballot || role != .follower || leader != from {
            becomeFollower(ballot: ballot, leader: from, now: now)
        }
        promiseHeldUntil = now + options.leaseDuration
        campaignAt = nil
        if snapshot.index > hardState.commitIndex {
            log.reset(to: snapshot)
            configuration = snapshot.configuration
            latestSnapshot = snapshot
            snapshotToInstall = snapshot
            hardState.commitIndex = snapshot.index
            hardStateChanged = true
            appliedIndex = snapshot.index
        }
        send(.accepted(ballot: hardState.ballot, success: true, matchIndex: max(snapshot.index, hardState.commitIndex), sentAt: sentAt), to: from)
    }

    /// Commits the highest index of this ballot that a quorum (the leader counting
    /// only what it has persisted) holds.
    func maybeCommit(now: Instant) {
        guard role == .leader else { return }
        var matches = configuration.map { member in member == me ? log.stableIndex : progress[member]?.matchIndex ?? 0 }
        matches.sort(by: >)
        let needed = options.plantedBug == .commitWithoutQuorum ? 1 : quorum
        let candidate = options.plantedBug == .commitWithoutQuorum ? log.lastIndex : matches[needed - 1]
        guard candidate > hardState.commitIndex, log.ballot(at: candidate) == hardState.ballot else { return }
        setCommitIndex(candidate)
        // Followers learn the new commit index with the next accept; if none goes
        // out soon, a notice on its own keeps their state machines current.
        if commitNoticeDue == nil { commitNoticeDue = now + options.commitNoticeDelay }
        // A leader removed by a committed configuration steps down.
        if !configuration.contains(me) { becomeFollower(ballot: hardState.ballot, leader: nil, now: now) }
    }

    /// Tells followers with nothing in flight the commit index they have not heard.
    func sendCommitNotices(now: Instant) {
        guard let due = commitNoticeDue, now >= due else { return }
        commitNoticeDue = nil
        for peer in configuration where peer != me {
            guard let state = progress[peer], state.lastSentAt == nil, state.commitSent < hardState.commitIndex else { continue }
            sendAccept(to: peer, now: now)
        }
    }

    func retransmit(now: Instant) {
        // In configuration order, never dictionary order: the simulator replays seeds exactly.
        for peer in configuration {
            guard let state = progress[peer], let sent = state.lastSentAt, now >= sent + options.retransmitInterval else { continue }
            var restarted = state
            restarted.nextIndex = state.matchIndex + 1
            progress[peer] = restarted
            sendAccept(to: peer, now: now)
        }
    }

    /// Compacts the log through `index`, keeping `state` (the application's state
    /// at `index`) to send to followers that need what was dropped.
    public func compact(through index: LogIndex, state: [UInt8]) {
        guard index > log.snapshotIndex, index <= appliedIndex, let ballot = log.ballot(at: index) else { return }
        latestSnapshot = Snapshot(index: index, ballot: ballot, configuration: configuration, state: state)
        log.compact(through: index, ballot: ballot)
    }

    public var latestSnapshotIndex: LogIndex { log.snapshotIndex }
}
