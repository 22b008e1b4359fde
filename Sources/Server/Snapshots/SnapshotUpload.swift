import Cell
import Wire

/// A leader sending one snapshot to one follower, as chunks in a sliding
/// window: at most ``windowBytes`` sent and not yet confirmed, so a slow
/// receiver holds back the sender instead of filling outboxes. Sans-I/O: it
/// says which byte ranges to send; the shard reads and sends them.
///
/// The receiver takes chunks only in order and answers each with how much it
/// holds. An answer that does not advance means a chunk was lost (a full
/// outbox drops, a dropped connection loses what was in flight): sending
/// resumes from there. Silence past ``stallTimeout`` resumes from the last
/// confirmed byte as well.
struct SnapshotUpload {
    static let windowBytes: UInt64 = 4 << 20
    static let stallTimeout = Duration.seconds(2)
    static let redeliveryDelay = Duration.seconds(10)
    /// A stream whose receiver has not answered for this long is dropped when room is needed.
    static let abandonedAfter = Duration.seconds(10)

    let peer: NodeID
    let identity: SnapshotIdentity
    let path: String
    /// What the install message needs; refreshed by every retransmit of the replica's own message.
    var leaderBallot: Ballot
    var sentAt: Instant
    var configuration: [NodeID]

    /// The receiver holds bytes `0..<confirmed`.
    private(set) var confirmed: UInt64 = 0
    /// Bytes `0..<sentThrough` were handed to the transport.
    private(set) var sentThrough: UInt64 = 0
    /// When the receiver last answered (a stream without answers holds nothing back).
    private(set) var lastHeardAt: Instant
    /// When sending last resumed from the confirmed byte, for stall pacing.
    private var lastResumedAt: Instant
    /// Set once a resend started from `confirmed`; another answer at the same point then changes nothing.
    private var resentFromConfirmed = false

    init(peer: NodeID, identity: SnapshotIdentity, path: String, leaderBallot: Ballot, sentAt: Instant,
         configuration: [NodeID], now: Instant) {
        self.peer = peer
        self.identity = identity
        self.path = path
        self.leaderBallot = leaderBallot
        self.sentAt = sentAt
        self.configuration = configuration
        lastHeardAt = now
        lastResumedAt = now
    }

    var isComplete: Bool { confirmed == identity.bytes }
    /// When every byte was confirmed: the replica's own message may still ask
    /// for the snapshot until the follower's answer to the install arrives.
    private(set) var completedAt: Instant?

    /// The byte ranges to send now, each at most one chunk.
    mutating func due() -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        while sentThrough < identity.bytes && sentThrough - confirmed < Self.windowBytes {
            let end = min(identity.bytes, sentThrough + UInt64(SnapshotTransfer.chunkBytesMaximum))
            ranges.append(sentThrough..<end)
            sentThrough = end
        }
        return ranges
    }

    /// The receiver says it holds `received` bytes; true when that completes the stream.
    @discardableResult
    mutating func heard(received: UInt64, now: Instant) -> Bool {
        // Answers that arrive after the end change nothing.
        guard completedAt == nil else { return false }
        lastHeardAt = now
        if received > confirmed {
            confirmed = received
            if isComplete { completedAt = now }
            resentFromConfirmed = false
            // A receiver ahead of what this side sent (an earlier upload's bytes): go on from there.
            sentThrough = max(sentThrough, confirmed)
        } else if received < confirmed {
            // The receiver started over (its staged bytes failed the checksum, or it restarted).
            confirmed = received
            sentThrough = received
            resentFromConfirmed = true
        } else if sentThrough > confirmed && !resentFromConfirmed {
            sentThrough = confirmed
            resentFromConfirmed = true
        }
        return completedAt != nil
    }

    /// Called whenever the replica offers the snapshot again: after a silence, resends from
    /// the last confirmed byte. A delivered snapshot the replica still asks for
    /// well after delivery (the follower did not take it) is sent again whole.
    mutating func resumeIfStalled(now: Instant) {
        if let completedAt {
            guard now - completedAt >= Self.redeliveryDelay else { return }
            self.completedAt = nil
            confirmed = 0
        }
        guard !isComplete, now - max(lastHeardAt, lastResumedAt) >= Self.stallTimeout else { return }
        lastResumedAt = now
        sentThrough = confirmed
        resentFromConfirmed = true
    }
}
