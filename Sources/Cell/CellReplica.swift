/// One replica of one cell: leader-based Multi-Paxos with Raft's log discipline,
/// leader leases and fencing by ballot. Sans-I/O: inputs are messages, time
/// readings, proposals and persistence reports; outputs come out as a
/// ``Ready``. It never reads a clock, sends, writes or draws randomness itself
/// (its randomness is a seeded generator the caller provides).
///
/// Idle cells cost nothing: a replica asks to be ticked only at
/// ``nextDeadline``, which is `nil` when nothing is pending. Liveness of the
/// leader comes from the node layer (``leaderSuspected(now:)``), shared by all
/// cells of a node pair, not from per-cell heartbeats.
public final class CellReplica {
    public enum Role: String, Sendable { case follower, candidate, leader }

    struct Progress {
        var nextIndex: LogIndex
        var matchIndex: LogIndex = 0
        /// When the last accept went out, by the leader's clock (`nil`: nothing in flight).
        var lastSentAt: Instant?
        /// Latest `sentAt` this follower acknowledged in this ballot (for the lease).
        var acknowledgedSentAt: Instant?
        /// The commit index the follower was last told.
        var commitSent: LogIndex = 0
        /// Accepts carrying entries that await an answer (flow control: a slow
        /// follower gets the backlog in a few large messages, not many small ones).
        var inflight = 0
        /// The node layer says this follower's node is down: send it nothing
        /// (no retransmits every 100 ms per cell) until it is back.
        var paused = false
        /// Retransmits since the follower last answered: each doubles the wait
        /// before the next (up to ``retransmitBackoffMaximum``), so a follower
        /// that is slow to answer is not sent the same catch-up again and again.
        var unansweredRetransmits = 0

        func retransmitDue(_ options: CellOptions) -> Instant? {
            lastSentAt.map { $0 + options.retransmitInterval * (1 << min(unansweredRetransmits, CellReplica.retransmitBackoffMaximum)) }
        }
    }

    /// Doublings of the retransmit interval at most (100 ms becomes 1.6 s).
    static let retransmitBackoffMaximum = 4

    public let me: NodeID
    public let options: CellOptions
    public internal(set) var role: Role = .follower
    public internal(set) var hardState = HardState()
    public internal(set) var leader: NodeID?
    public internal(set) var configuration: [NodeID]
    /// The configuration the cell was created with, before any entry changed it.
    let initialConfiguration: [NodeID]
    var log = ReplicaLog()
    public internal(set) var appliedIndex: LogIndex = 0
    var random: SplitMix64

    // Follower and candidate state.
    /// Until then this replica promises no one but its current leader (lease safety).
    var promiseHeldUntil: Instant = .zero
    var campaignAt: Instant?
    var votes: Set<NodeID> = []
    var probing = false

    // Leader state.
    var progress: [NodeID: Progress] = [:]
    /// First index of this leader's ballot: its no-op. Reads wait until it is applied.
    var ballotStartIndex: LogIndex = 0
    var leaseUntil: Instant?
    /// When followers that heard no new commit index get one on its own.
    var commitNoticeDue: Instant?
    /// Proposals wait here for the next ready, to go out together.
    var broadcastDue: Instant?

    /// Accepts refused because an entry failed its checksum.
    public internal(set) var corruptEntriesRefused = 0

    // Output being gathered for the next ready.
    var outbox: [(to: NodeID, message: CellMessage)] = []
    var hardStateChanged = false
    /// The ballot or vote changed (not just the commit index): must be durable before messages leave.
    var hardStateNeedsSync = false
    var snapshotToInstall: Snapshot?
    var snapshotReplacesLog = false
    /// The latest snapshot with its state, to send to followers behind the log's
    /// start; usable only while it reaches the log (index ≥ the log's base).
    var latestSnapshot: Snapshot?
    /// The configuration in force at the log's base (the compacted prefix).
    var baseConfiguration: [NodeID]
    /// A follower needs a snapshot and none is at hand: the runtime is asked for one.
    var snapshotWanted = false

    /// A new replica of a new cell (empty log), or the restart of one with its persisted state.
    public init(
        me: NodeID, configuration: [NodeID], options: CellOptions = CellOptions(), now: Instant, randomSeed: UInt64,
        restoring persisted: PersistedReplicaState? = nil
    ) {
        self.me = me
        self.options = options
        self.configuration = configuration.sorted()
        self.initialConfiguration = configuration.sorted()
        self.baseConfiguration = configuration.sorted()
        self.random = SplitMix64(seed: randomSeed ^ UInt64(me.rawValue) &* 0x9E37_79B9_7F4A_7C15)
        if let persisted {
            hardState = persisted.hardState
            if let snapshot = persisted.snapshot {
                latestSnapshot = snapshot
            }
            if let base = persisted.base {
                appliedIndex = base.index
                baseConfiguration = base.configuration
            }
            log.restore(snapshotIndex: persisted.base?.index ?? 0, snapshotBallot: persisted.base?.ballot ?? .zero,
                        entries: persisted.entries)
            refreshConfiguration()
        }
        // After a restart this replica may have promised a leader before it went
        // down; it honours that promise for a full lease before voting again.
        if persisted != nil { promiseHeldUntil = now + options.leaseDuration }
        scheduleCampaign(now: now, notBefore: promiseHeldUntil)
    }

    // MARK: - Inputs

    /// A message from another replica of this cell.
    public func step(_ message: CellMessage, from: NodeID, now: Instant) {
        switch message {
        case .prepare(let ballot, let lastIndex, let lastBallot, let probe):
            handlePrepare(ballot: ballot, lastIndex: lastIndex, lastBallot: lastBallot, probe: probe, from: from, now: now)
        case .promise(let ballot, let granted, let probe):
            handlePromise(ballot: ballot, granted: granted, probe: probe, from: from, now: now)
        case .accept(let ballot, let previousIndex, let previousBallot, let entries, let commitIndex, let sentAt):
            handleAccept(ballot: ballot, previousIndex: previousIndex, previousBallot: previousBallot,
                         entries: entries, commitIndex: commitIndex, sentAt: sentAt, from: from, now: now)
        case .accepted(let ballot, let success, let matchIndex, let sentAt):
            handleAccepted(ballot: ballot, success: success, matchIndex: matchIndex, sentAt: sentAt, from: from, now: now)
        case .installSnapshot(let ballot, let snapshot, let sentAt):
            handleInstallSnapshot(ballot: ballot, snapshot: snapshot, sentAt: sentAt, from: from, now: now)
        }
    }

    /// Time passed; call at or after ``nextDeadline``.
    public func tick(now: Instant) {
        switch role {
        case .follower, .candidate:
            if let campaignAt, now >= campaignAt { campaign(now: now, probe: true) }
        case .leader:
            stepDownIfCutOff(now: now)
            guard role == .leader else { return }
            retransmit(now: now)
            sendCommitNotices(now: now)
        }
    }

    /// The node layer suspects the node of this cell's leader: look for a new one.
    public func leaderSuspected(now: Instant) {
        guard role == .follower, leader != nil, leader != me else { return }
        leader = nil
        scheduleCampaign(now: now, notBefore: promiseHeldUntil)
    }

    /// When this replica next needs ``tick(now:)``; `nil` when idle.
    public var nextDeadline: Instant? {
        switch role {
        case .follower, .candidate:
            return campaignAt
        case .leader:
            let retransmit = progress.values.compactMap { $0.retransmitDue(options) }.min()
            let stepDown = reachesQuorum ? nil : (leaseUntil ?? .zero)
            return [retransmit, commitNoticeDue, stepDown].compactMap { $0 }.min()
        }
    }

    /// Proposes a command; only the leader accepts. Returns the log index it will have.
    public func propose(_ payload: LogEntry.Payload, now: Instant) -> ProposalResult {
        guard role == .leader else { return .notLeader(leaderHint: leader) }
        if case .configuration(let members) = payload {
            guard commitIndexReachedBallot, !hasUncommittedConfiguration else { return .busy }
            guard Set(members).symmetricDifference(configuration).count <= 1 else { return .rejected("change one replica at a time") }
        }
        let index = log.lastIndex + 1
        log.append(LogEntry(index: index, ballot: hardState.ballot, payload: payload))
        if case .configuration = payload { refreshConfiguration() }
        // Sent at the next ready, so that proposals made in between share messages.
        broadcastDue = now
        return .accepted(index: index, ballot: hardState.ballot)
    }

    /// Reports that the runtime persisted everything in `ready`.
    public func advance(_ ready: Ready, now: Instant) {
        if let last = ready.entries.last { log.stableIndex = max(log.stableIndex, min(last.index, log.lastIndex)) }
        if let snapshot = ready.snapshot { log.stableIndex = max(log.stableIndex, snapshot.index) }
        if let last = ready.committed.last { appliedIndex = max(appliedIndex, last.index) }
        if role == .leader { maybeCommit(now: now) }
    }

    /// Collects what the runtime must do now.
    public func takeReady() -> Ready {
        if let now = broadcastDue {
            broadcastDue = nil
            if role == .leader { broadcastAccept(now: now) }
        }
        var ready = Ready()
        if hardStateChanged {
            ready.hardState = hardState
            ready.hardStateMustSync = hardStateNeedsSync
            hardStateChanged = false
            hardStateNeedsSync = false
        }
        ready.snapshot = snapshotToInstall
        ready.snapshotReplacesLog = snapshotReplacesLog
        ready.snapshotWanted = snapshotWanted
        snapshotToInstall = nil
        snapshotReplacesLog = false
        snapshotWanted = false
        ready.entries = log.takeUnstable()
        // A leader's accepts may leave before its own entries are durable: it
        // counts itself toward a quorum only once they are (Raft thesis §10.2.1),
        // so its disk write and its followers' overlap.
        for (to, message) in outbox {
            switch message {
            case .accept, .installSnapshot: ready.earlyMessages.append((to, message))
            case .prepare, .promise, .accepted: ready.messages.append((to, message))
            }
        }
        outbox = []
        if hardState.commitIndex > appliedIndex {
            var committed: [LogEntry] = []
            var index = max(appliedIndex + 1, log.firstIndex)
            while index <= hardState.commitIndex, let entry = log.entry(at: index) {
                committed.append(entry)
                index += 1
            }
            ready.committed = committed
        }
        return ready
    }

    // MARK: - State queries

    public var ballot: Ballot { hardState.ballot }
    public var commitIndex: LogIndex { hardState.commitIndex }
    public var lastIndex: LogIndex { log.lastIndex }
    public var firstIndex: LogIndex { log.firstIndex }
    var quorum: Int { configuration.count / 2 + 1 }
    var commitIndexReachedBallot: Bool { hardState.commitIndex >= ballotStartIndex }

    var hasUncommittedConfiguration: Bool {
        var index = hardState.commitIndex + 1
        while let entry = log.entry(at: index) {
            if case .configuration = entry.payload { return true }
            index += 1
        }
        return false
    }

    /// The configuration in force at `index`: the last configuration entry at or
    /// before it, else the snapshot's, else the initial one.
    func configuration(at index: LogIndex) -> [NodeID] {
        var position = min(index, log.lastIndex)
        while position > log.snapshotIndex {
            if case .configuration(let members) = log.entry(at: position)!.payload { return members.sorted() }
            position -= 1
        }
        return baseConfiguration
    }

    /// Adopts the newest configuration in the log (appended, not necessarily
    /// committed: Raft's rule for one-at-a-time changes), including after a
    /// conflicting suffix was cut away.
    func refreshConfiguration() {
        applyConfiguration(configuration(at: log.lastIndex))
    }

    func applyConfiguration(_ members: [NodeID]) {
        configuration = members.sorted()
        if role == .leader {
            for member in configuration where member != me && progress[member] == nil {
                progress[member] = Progress(nextIndex: log.lastIndex + 1)
            }
            for member in progress.keys where !configuration.contains(member) { progress[member] = nil }
        }
    }

    func send(_ message: CellMessage, to node: NodeID) {
        outbox.append((node, message))
    }

    func setBallot(_ ballot: Ballot, votedFor: NodeID?) {
        hardState.ballot = ballot
        hardState.votedFor = votedFor
        hardStateChanged = true
        hardStateNeedsSync = true
    }

    func setCommitIndex(_ index: LogIndex) {
        guard index > hardState.commitIndex else { return }
        hardState.commitIndex = index
        hardStateChanged = true
    }

    func scheduleCampaign(now: Instant, notBefore: Instant) {
        guard configuration.contains(me) else { campaignAt = nil; return }
        let base = options.electionTimeout.nanosecondsValue
        let jitter = Int64(random.next() % UInt64(max(base, 1)))
        campaignAt = max(now, notBefore) + .nanoseconds(base + jitter)
    }
}

/// The answer to a proposal.
public enum ProposalResult: Hashable, Sendable {
    case accepted(index: LogIndex, ballot: Ballot)
    case notLeader(leaderHint: NodeID?)
    /// A configuration change waits for the previous one, or for the leader's first commit.
    case busy
    case rejected(String)
}

/// Where a restored log starts: the index its state machine already holds
/// (entries up to it were compacted away), that entry's ballot, and the
/// configuration in force there.
public struct LogBase: Hashable, Sendable {
    public var index: LogIndex
    public var ballot: Ballot
    public var configuration: [NodeID]

    public init(index: LogIndex, ballot: Ballot, configuration: [NodeID]) {
        self.index = index
        self.ballot = ballot
        self.configuration = configuration
    }
}

/// What a replica persisted, handed back at restart.
public struct PersistedReplicaState: Sendable {
    /// Records what a ready asks to persist: the rule every runtime follows.
    public mutating func persist(_ ready: Ready) {
        if let hardState = ready.hardState { self.hardState = hardState }
        if let snapshot = ready.snapshot {
            self.snapshot = snapshot
            base = LogBase(index: snapshot.index, ballot: snapshot.ballot, configuration: snapshot.configuration)
            if ready.snapshotReplacesLog { entries = [] } else { entries.removeAll { $0.index <= snapshot.index } }
        }
        append(ready.entries)
    }

    /// Appends entries, replacing any persisted from the first one's index on.
    public mutating func append(_ incoming: [LogEntry]) {
        guard let first = incoming.first else { return }
        entries.removeAll { $0.index >= first.index }
        entries.append(contentsOf: incoming)
    }

    public var hardState: HardState
    /// A snapshot with its state (the runtime restores its state machine from it).
    public var snapshot: Snapshot?
    /// Where the log starts; a runtime whose state machine is durable on its own
    /// (the page store) gives a base without a snapshot.
    public var base: LogBase?
    public var entries: [LogEntry]

    public init(hardState: HardState, snapshot: Snapshot?, entries: [LogEntry]) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.base = snapshot.map { LogBase(index: $0.index, ballot: $0.ballot, configuration: $0.configuration) }
        self.entries = entries
    }

    public init(hardState: HardState, base: LogBase, entries: [LogEntry]) {
        self.hardState = hardState
        self.base = base
        self.entries = entries
    }
}
