/// What replicas of one cell say to each other. The node layer carries many
/// cells' messages over one connection per node pair.
public enum CellMessage: Hashable, Sendable {
    /// Phase 1: a candidate asks for promises in `ballot`; its log ends at (`lastIndex`, `lastBallot`).
    /// A `probe` (Raft's pre-vote) changes no one's state: it asks whether a real
    /// prepare would win, so that a node that was cut off cannot depose a live leader.
    case prepare(ballot: Ballot, lastIndex: LogIndex, lastBallot: Ballot, probe: Bool)
    case promise(ballot: Ballot, granted: Bool, probe: Bool)
    /// Phase 2: the leader of `ballot` asks to accept `entries` after (`previousIndex`, `previousBallot`).
    /// `sentAt` is the leader's clock when sent, echoed back to extend its lease.
    case accept(ballot: Ballot, previousIndex: LogIndex, previousBallot: Ballot, entries: [LogEntry],
                commitIndex: LogIndex, sentAt: Instant)
    /// `matchIndex` is the last index known to agree with the leader when `success`;
    /// otherwise a hint where to retry from.
    case accepted(ballot: Ballot, success: Bool, matchIndex: LogIndex, sentAt: Instant)
    /// A follower too far behind gets the leader's snapshot instead of entries.
    case installSnapshot(ballot: Ballot, snapshot: Snapshot, sentAt: Instant)
}
