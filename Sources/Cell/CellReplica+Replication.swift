/// Phase 2: accepting entries, committing, catching up and snapshots.
extension CellReplica {
    func broadcastAccept(now: Instant) {
        for peer in configuration where peer != me { sendAccept(to: peer, now: now) }
        maybeCommit(now: now)
    }

    /// Sends the follower what it lacks from `nextIndex` on (or nothing but the
    /// commit index and a lease renewal, if it lacks nothing).
    func sendAccept(to peer: NodeID, now: Instant) {
        guard var state = progress[peer], !state.paused else { return }
        if state.nextIndex < log.firstIndex {
            // A snapshot older than the log's base misses the entries between: ask the
            // runtime for one. The ask counts as a send, so that retransmits back off
            // rather than ask again at once.
            if let snapshot = latestSnapshot, snapshot.index >= log.snapshotIndex {
                send(.installSnapshot(ballot: hardState.ballot, snapshot: snapshot, sentAt: now), to: peer)
            } else {
                snapshotWanted = true
            }
        } else {
            let previousIndex = state.nextIndex - 1
            guard let previousBallot = log.ballot(at: previousIndex) else { return }
            var entries = log.entries(from: state.nextIndex, maximumCount: options.entriesPerMessageMaximum)
            // Bounded in bytes too (values may be large), always at least one entry.
            var bytes = 0
            if let cut = entries.indices.first(where: { index in
                bytes += entries[index].payloadBytes
                return index > 0 && bytes > options.bytesPerMessageMaximum
            }) { entries.removeSubrange(cut...) }
            if !entries.isEmpty {
                // The answers to the accepts in flight will pull the rest, batched.
                if state.inflight >= options.inflightAcceptsMaximum { return }
                state.inflight += 1
            }
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
        // A corrupted entry goes no further: the accept counts as lost, and the
        // leader sends its entries again.
        guard entries.allSatisfy(\.isIntact) else {
            corruptEntriesRefused += 1
            return
        }
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
        let truncated = log.merge(entries)
        if truncated || entries.contains(where: { if case .configuration = $0.payload { true } else { false } }) {
            refreshConfiguration()
        }
        let lastNew = previousIndex + LogIndex(entries.count)
        setCommitIndex(min(commitIndex, lastNew))
        releaseDepartedLeader(now: now)
        send(.accepted(ballot: hardState.ballot, success: true, matchIndex: max(lastNew, log.snapshotIndex), sentAt: sentAt), to: from)
    }

    func handleAccepted(ballot: Ballot, success: Bool, matchIndex: LogIndex, sentAt: Instant, from: NodeID, now: Instant) {
        if ballot > hardState.ballot {
            becomeFollower(ballot: ballot, leader: nil, now: now)
            return
        }
        guard role == .leader, ballot == hardState.ballot, var state = progress[from] else { return }
        state.acknowledgedSentAt = max(state.acknowledgedSentAt ?? sentAt, sentAt)
        state.inflight = max(0, state.inflight - 1)
        state.unansweredRetransmits = 0
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
            state.inflight = 0
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
        // A snapshot at or below the commit index is refused (Raft's rule): the
        // log holds every committed entry already, and entries through the
        // commit index may be handed to the state machine in a ready still in
        // flight, whose applies would land on top of the install.
        if snapshot.index > hardState.commitIndex {
            if log.ballot(at: snapshot.index) == snapshot.ballot {
                // The log already holds the snapshot's last entry (a snapshot that
                // overtook later accepts): entries after it were acknowledged and
                // may be committed, so only the prefix is replaced.
                log.compact(through: snapshot.index, ballot: snapshot.ballot)
            } else {
                log.reset(to: snapshot)
                snapshotReplacesLog = true
            }
            latestSnapshot = snapshot
            baseConfiguration = snapshot.configuration
            snapshotToInstall = snapshot
            appliedIndex = snapshot.index
            refreshConfiguration()
            if snapshot.index > hardState.commitIndex {
                hardState.commitIndex = snapshot.index
                hardStateChanged = true
            }
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
        // A leader removed by a committed configuration tells the remaining
        // replicas at once (they elect a successor on hearing it), then steps down.
        if !configuration.contains(me) {
            for peer in configuration where peer != me { sendAccept(to: peer, now: now) }
            becomeFollower(ballot: hardState.ballot, leader: nil, now: now)
        }
    }

    /// A follower whose leader was removed by a committed configuration stops
    /// waiting for it: the leader stepped down when it committed the change, so
    /// the promise to it protects no lease, and the remaining replicas elect.
    func releaseDepartedLeader(now: Instant) {
        guard role == .follower, let current = leader, !configuration.contains(current) else { return }
        var index = hardState.commitIndex
        var committedWithout = false
        while index > log.snapshotIndex {
            if case .configuration(let members) = log.entry(at: index)!.payload {
                committedWithout = !members.contains(current)
                break
            }
            index -= 1
        }
        guard committedWithout else { return }
        leader = nil
        promiseHeldUntil = now
        scheduleCampaign(now: now, notBefore: now)
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
            guard let state = progress[peer], let due = state.retransmitDue(options), now >= due else { continue }
            var restarted = state
            restarted.nextIndex = state.matchIndex + 1
            restarted.inflight = 0
            restarted.unansweredRetransmits += 1
            progress[peer] = restarted
            sendAccept(to: peer, now: now)
        }
    }

    /// Compacts the log through `index`, keeping `state` (the application's state
    /// at `index`) to send to followers that need what was dropped.
    public func compact(through index: LogIndex, state: [UInt8]) {
        guard index > log.snapshotIndex, index <= appliedIndex, let ballot = log.ballot(at: index) else { return }
        latestSnapshot = Snapshot(index: index, ballot: ballot, configuration: configuration(at: index), state: state)
        compactLog(through: index)
    }

    /// Compacts the log through `index` without a snapshot in hand: for a
    /// runtime whose state machine is durable by itself (the page store). When
    /// a follower then needs what was dropped, the ready says
    /// ``Ready/snapshotWanted`` and the runtime answers with ``provideSnapshot(state:now:)``.
    /// Returns the payload bytes of the entries dropped.
    @discardableResult
    public func compactLog(through index: LogIndex) -> Int {
        guard index > log.snapshotIndex, index <= appliedIndex, let ballot = log.ballot(at: index) else { return 0 }
        var droppedBytes = 0
        for dropped in log.firstIndex...index { droppedBytes += log.entry(at: dropped)?.payloadBytes ?? 0 }
        baseConfiguration = configuration(at: index)
        log.compact(through: index, ballot: ballot)
        if let snapshot = latestSnapshot, snapshot.index < index { latestSnapshot = nil }
        return droppedBytes
    }

    /// On a leader, the lowest index its followers (those it sends to) are
    /// known to hold: the log it keeps past it spares a follower a little
    /// behind a snapshot (a queue cell's is the whole queue). Nil elsewhere.
    public var followersMatchedThrough: LogIndex? {
        guard role == .leader else { return nil }
        return configuration.lazy.filter { $0 != self.me }.compactMap { self.progress[$0] }
            .filter { !$0.paused }.map(\.matchIndex).min()
    }

    /// The application's state at the applied index (or at an earlier
    /// `index`, for a runtime that made it while applying went on), asked for
    /// by ``Ready/snapshotWanted``: kept as the latest snapshot and sent to
    /// the followers behind the log's start. A state older than the log's
    /// start is of no use and is dropped.
    public func provideSnapshot(state: [UInt8], index: LogIndex? = nil, now: Instant) {
        let index = index ?? appliedIndex
        guard index <= appliedIndex, index >= log.snapshotIndex, let ballot = log.ballot(at: index) else { return }
        latestSnapshot = Snapshot(index: index, ballot: ballot, configuration: configuration(at: index), state: state)
        guard role == .leader else { return }
        for peer in configuration where peer != me {
            if let state = progress[peer], state.nextIndex < log.firstIndex { sendAccept(to: peer, now: now) }
        }
    }

    /// Lets go of the latest snapshot's state, for a runtime that makes one on
    /// demand (``Ready/snapshotWanted``): a follower behind later asks again,
    /// so its bytes need not stay in memory.
    public func releaseSnapshot() {
        latestSnapshot = nil
    }

    /// Releases the latest snapshot once no follower needs it any more (each
    /// holds its index, or this replica no longer leads); until then it is
    /// kept for retransmits. For a runtime that makes snapshots on demand.
    public func releaseSnapshotIfDelivered() {
        guard let snapshot = latestSnapshot else { return }
        let delivered = configuration.allSatisfy { peer in peer == me || (progress[peer]?.matchIndex ?? 0) >= snapshot.index }
        if role != .leader || delivered { latestSnapshot = nil }
    }

    public var latestSnapshotIndex: LogIndex { log.snapshotIndex }

    /// The snapshot that replaced the log's prefix, kept for followers that need it (and for persisting it).
    public var snapshot: Snapshot? { latestSnapshot }

    /// On the leader: each follower's last index known to match its own log (for status pages).
    public var followerMatchIndexes: [(member: NodeID, matchIndex: LogIndex)] {
        guard role == .leader else { return [] }
        return configuration.compactMap { peer in progress[peer].map { (peer, $0.matchIndex) } }
    }
}
