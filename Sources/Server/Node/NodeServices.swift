import Cell
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import Storage

/// What every shard of a node shares: read-only after start, or thread-safe.
final class NodeServices: Sendable {
    let layout: ClusterLayout
    let store: Store
    /// Cells placement gives this node (a replica of each is created on first use).
    let hostedCells: Set<UInt64>
    let cellOptions: CellOptions
    let compactionInterval: UInt64
    let logger: Logger
    let transport: PeerLinks
    let snapshotFiles: SnapshotFiles
    /// The node's queue extents (the lnr store).
    let extents: QueueExtents
    /// Builds snapshot files from the page store, off the shards' loops, one at a time.
    let snapshotQueue = DispatchQueue(label: "tessera.snapshots")

    init(layout: ClusterLayout, store: Store, hostedCells: Set<UInt64>, cellOptions: CellOptions,
         compactionInterval: UInt64, logger: Logger, transport: PeerLinks, snapshotFiles: SnapshotFiles,
         extents: QueueExtents) {
        self.extents = extents
        self.layout = layout
        self.store = store
        self.hostedCells = hostedCells
        self.cellOptions = cellOptions
        self.compactionInterval = compactionInterval
        self.logger = logger
        self.transport = transport
        self.snapshotFiles = snapshotFiles
    }

    /// The node's monotonic clock: it keeps counting while the process is
    /// stopped (SIGSTOP), which is what makes a paused leader's lease expire.
    @Sendable func clock() -> Instant {
        Instant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds))
    }

    /// Milliseconds since 1970 on this node's wall clock: what judges a queue's
    /// lease when this node leads the queue's cell (leases outlive leaders,
    /// so they cannot be on a monotonic clock of one process).
    @Sendable func wallClockMilliseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000 + UInt64(time.tv_nsec) / 1_000_000
    }
}
