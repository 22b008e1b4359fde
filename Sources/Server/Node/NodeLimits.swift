/// The bounds that keep a node's memory independent of what its clients and
/// peers send. Each is listed in the README with what happens when it is hit.
public enum NodeLimits {
    /// Replies queued for one client connection beyond what its socket takes;
    /// past it the connection stops reading requests until half has drained.
    public static let clientReplyBytesMaximum = 8 << 20
    /// Requests one client connection may have in flight; more are answered
    /// `overloaded` at once (the Swift client backs off and retries).
    public static let clientRequestsInFlightMaximum = 256
    /// Cell messages queued for one peer beyond what its socket takes; past it
    /// new ones are dropped and consensus retransmits, paced by acknowledgements.
    public static let peerOutboxBytesMaximum = 64 << 20
    /// Cell messages received from one peer and not yet processed by the
    /// shards; past it the connection stops reading (TCP paces the peer).
    public static let peerInboundBytesMaximum = 64 << 20
    /// Proposed writes of one cell waiting to commit; more are answered `overloaded`.
    public static let cellPendingWritesMaximum = 4_096
    /// Bytes of those proposed writes; more are answered `overloaded`.
    public static let cellPendingWriteBytesMaximum = 32 << 20
    /// Bytes of applied log entries a cell keeps in memory for followers a
    /// little behind (besides the every-1,000-entries rule); a follower further
    /// behind gets a snapshot made from the page store.
    public static let cellLogBytesMaximum = 1 << 20
    /// Bytes of applied log entries all cells of one shard keep: past it, every
    /// cell of the shard drops its applied log, so that the retained log is
    /// bounded per node, not per cell.
    public static let shardLogBytesMaximum = 64 << 20
    /// Applied log bytes a cell's leader keeps for followers a little behind
    /// (pipelined accepts lost or refused, a follower slower than the quorum):
    /// they catch up from the log. Past it, or past the shard's bound, the log
    /// is compacted through the applied index and such a follower gets a
    /// snapshot (for a queue's cell, the whole queue).
    public static let cellFollowerHoldBytesMaximum = 32 << 20
    /// Snapshot streams one shard's leaders send at once (each with at most
    /// 4 MiB in flight); a follower that asks beyond it is served when one ends.
    public static let snapshotUploadsPerShardMaximum = 4
    /// Snapshots one shard receives at once; chunks of more are ignored until one ends.
    public static let snapshotDownloadsPerShardMaximum = 4
    /// Values a cell overwrites while its snapshot is written, kept so the
    /// snapshot stays the state at its index; past it the snapshot is given up
    /// (and made again when the follower asks).
    public static let snapshotPreimageBytesMaximum = 64 << 20
    /// Snapshots one shard's leaders write at once (on the node's one snapshot thread).
    public static let snapshotBuildsPerShardMaximum = 2
    /// Applied log a cell keeps past its compaction point for a snapshot being
    /// written or streamed; past it the snapshot is given up.
    public static let snapshotHeldLogBytesMaximum = 64 << 20
}
