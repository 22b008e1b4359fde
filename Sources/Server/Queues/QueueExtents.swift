import Cell
import CellHost
import Dispatch
import Keyspace
import Logging
import Storage
import Synchronization

/// The node's lnr store: queues' entries, staged in the page store when their
/// cell applies them, are gathered here into immutable checksummed extents
/// (up to 32 MiB each, one file each, written sequentially) in their own
/// folder, on a thread of their own: the cell's hot path only stages.
/// Gathering, trimming and cleaning up are this node's own business (every
/// replica gathers for itself); the entries, their order and the trim point
/// are the cell's, and a snapshot carries gathered entries as staged ones.
final class QueueExtents: Sendable {
    let directory: ExtentDirectory
    let store: Store
    let logger: Logger
    /// Staged bytes of a queue that make an extent.
    let targetBytes: Int
    /// A queue whose staged entries sit this long is gathered however few they are.
    static let idleSeconds = 5.0
    static let readersMaximum = 64

    /// Hands a cell's local page-store writes to the shard that owns the cell (set by the node before serving).
    let commit: Mutex<(@Sendable (_ cell: UInt64, _ updates: [ItemUpdate], _ then: @escaping @Sendable () -> Void) -> Void)?> = Mutex(nil)

    struct Activity {
        var cell: UInt64
        var stagedBytes = 0
        var since: Double
        /// The trim point the cell applied, and how far this node has removed what it covers.
        var trimmedThrough: UInt64 = 0
        var sweptThrough: UInt64 = 0
        /// Gathered through this sequence (known after the first gather since start).
        var gatheredThrough: UInt64?
    }
    let activity = Mutex<[[UInt8]: Activity]>([:])
    let readers = Mutex<[UInt64: ExtentReader]>([:])
    let thread = DispatchQueue(label: "tessera.lnr")
    let stopFlag = Atomic<Bool>(false)

    let cellDepth: Int

    init(path: String, store: Store, cellDepth: Int, targetBytes: Int, logger: Logger) throws {
        directory = try ExtentDirectory.open(path: path)
        self.store = store
        self.cellDepth = cellDepth
        self.targetBytes = min(max(targetBytes, 1 << 20), ExtentFormat.payloadBytesMaximum)
        self.logger = logger
    }

    // MARK: What the shards tell

    /// A cell applied an append (`bytes` of payload) or a trim of `queue`.
    func noteAppend(_ queue: [UInt8], cell: UInt64, bytes: Int) {
        let due = activity.withLock { activity -> Bool in
            var entry = activity[queue] ?? Activity(cell: cell, since: Self.seconds())
            if entry.stagedBytes == 0 { entry.since = Self.seconds() }
            entry.stagedBytes += bytes
            activity[queue] = entry
            return entry.stagedBytes >= targetBytes && entry.stagedBytes - bytes < targetBytes
        }
        if due { thread.async { [self] in gather(queue) } }
    }

    /// The trim point comes with the note: the applied head may not be in the store yet when the sweep reads it.
    func noteTrim(_ queue: [UInt8], cell: UInt64, through: UInt64) {
        activity.withLock { activity in
            var entry = activity[queue] ?? Activity(cell: cell, since: Self.seconds())
            entry.trimmedThrough = max(entry.trimmedThrough, through)
            activity[queue] = entry
        }
        thread.async { [self] in sweep(queue) }
    }

    /// A leader's snapshot replaced the cell's items: its queues are staged again, from what the snapshot holds.
    func forgetCell(_ cell: UInt64) {
        activity.withLock { activity in
            for (queue, entry) in activity where entry.cell == cell { activity[queue]?.gatheredThrough = nil }
        }
    }

    // MARK: Life

    /// Removes extents a crash left unlisted, then looks at idle queues every second.
    func start() {
        do {
            for id in try directory.extentIDs() where try !ExtentRegistry.contains(id, in: store) {
                logger.info("removing an extent no queue indexes (written before a crash)", metadata: ["extent": "\(id)"])
                try directory.remove(id)
            }
        } catch {
            logger.error("could not check the extent folder", metadata: ["error": "\(error)"])
        }
        scheduleTick()
    }

    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        thread.sync {}
        readers.withLock { readers in
            for reader in readers.values { reader.close() }
            readers = [:]
        }
    }

    private func scheduleTick(_ ticksSoFar: Int = 0) {
        thread.asyncAfter(deadline: .now() + 1) { [self] in
            guard !stopped() else { return }
            let now = Self.seconds()
            let (idle, unswept) = activity.withLock { activity in
                (activity.filter { $0.value.stagedBytes > 0 && now - $0.value.since >= Self.idleSeconds }.map(\.key),
                 activity.filter { $0.value.sweptThrough < $0.value.trimmedThrough }.map(\.key))
            }
            for queue in idle { gather(queue) }
            for queue in unswept { sweep(queue) }
            let ticks = ticksSoFar + 1
            if ticks % 30 == 0 { sweepReplaced() }
            scheduleTick(ticks)
        }
    }

    // MARK: Reading

    /// Entries of one extent from `from`: what a shard's read and a snapshot call.
    func entries(_ extent: ExtentIndexEntry, from: UInt64, countMaximum: Int, bytesMaximum: Int) throws -> [QueueEntry] {
        let reader = try reader(extent.extentID)
        return try reader.entries(from: from, countMaximum: countMaximum, bytesMaximum: bytesMaximum)
            .map { QueueEntry(sequence: $0.seq, payload: $0.payload) }
    }

    private func reader(_ id: UInt64) throws -> ExtentReader {
        if let reader = readers.withLock({ $0[id] }) { return reader }
        let reader = try directory.openReader(id)
        readers.withLock { readers in
            // Dropped, not closed: a read on another thread may still hold it (its file closes with its last user).
            if readers.count >= Self.readersMaximum, let victim = readers.keys.first { readers.removeValue(forKey: victim) }
            readers[id] = reader
        }
        return reader
    }

    /// The file may be removed while a read still holds it open (POSIX keeps it until closed).
    func forget(_ id: UInt64) {
        _ = readers.withLock { $0.removeValue(forKey: id) }
    }

    func cellOf(_ queue: [UInt8]) -> UInt64 { CellID(containing: Pointer(hashing: queue), depth: cellDepth).prefix }

    static func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
