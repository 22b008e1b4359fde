import Keyspace

/// A checkpoint in progress: what it started from and what it has laid out.
///
/// A checkpoint is *fuzzy*: it covers the WAL up to `checkpointSequence`, the
/// last sequence when it began, and writes each collection that was changed by
/// then as it is when its slice is taken, which may include later changes.
/// Replay from `checkpointSequence` is still exact, because every WAL effect
/// sets an item to a value it names (or deletes it): applied again over a newer
/// collection it changes nothing that a later effect does not set again.
/// That is what lets writers go on while the pages are written.
/// Sendable because one thread at a time drives it: the one that writes the
/// checkpoint, taking the store's lock for the steps that touch the engine.
public final class CheckpointJob: @unchecked Sendable {
    let generation: UInt64
    let checkpointSequence: UInt64
    /// The WAL segment that began with the checkpoint; older ones go once it is durable.
    let segmentName: String
    var allocator: PageAllocator
    var released: [UInt32] = []
    /// Collections changed when the checkpoint began, not yet laid out, in pointer order.
    var remaining: ArraySlice<Pointer>
    /// The last record whose writes a slice took: slices take collections as
    /// they are then, past the checkpoint's sequence, so the checkpoint may not
    /// become durable before the WAL is through this record (a crash would keep
    /// a record's writes to some collections and lose the rest of it, such as
    /// the log truncation that goes with a cell's applied entries).
    public internal(set) var capturedThrough: UInt64

    init(generation: UInt64, checkpointSequence: UInt64, segmentName: String, allocator: PageAllocator, remaining: [Pointer]) {
        self.generation = generation
        self.checkpointSequence = checkpointSequence
        capturedThrough = checkpointSequence
        self.segmentName = segmentName
        self.allocator = allocator
        self.remaining = remaining[...]
    }

    public var isLaidOut: Bool { remaining.isEmpty }

    /// Collections of one slice: each as it was when the slice was taken, with its new place.
    public struct Slice {
        var collections: [(pointer: Pointer, collection: ItemCollection, lastSequence: UInt64, location: CollectionLocation?)] = []
        public var isEmpty: Bool { collections.isEmpty }
    }

    /// The index, free list and superblock that make the checkpoint current.
    public struct Metadata {
        var pages: [Page]
        var superblock: Superblock
        var free: [UInt32]
    }
}

extension StorageEngine {
    /// Bytes of collections per slice: the engine's lock is held while a slice
    /// is taken and while it is made current, never while its pages are written.
    static let checkpointSliceBytes = 4 << 20

    /// Writes every changed collection, bucket and the directory to fresh pages,
    /// then a new superblock, then drops the WAL segments it covers: the whole
    /// checkpoint at once, on the caller's thread (``Store`` runs the same
    /// steps on a thread of its own, releasing its lock while pages are written).
    ///
    /// Crash safety comes from never overwriting a page the last durable
    /// checkpoint uses (see ``PageAllocator``): until the new superblock is
    /// synced, the old checkpoint plus the WAL is whole; after, the new one is.
    /// Every prepared write must be flushed first.
    public func checkpoint() throws {
        let job = try beginCheckpoint()
        while !job.isLaidOut {
            let slice = try takeSlice(of: job)
            try writeSlice(slice)
            try finishSlice(slice, of: job)
        }
        try syncSlices()
        let metadata = try layOutMetadata(of: job)
        try writeMetadata(metadata)
        try finishCheckpoint(job, metadata)
    }

    /// Starts a checkpoint (under the store's lock, on the thread that appends
    /// to the WAL): the changed collections are noted, and a new WAL segment
    /// begins with every replicated log as it stands, durable before the older
    /// segments can go.
    public func beginCheckpoint() throws -> CheckpointJob {
        precondition(pendingWAL.isEmpty, "checkpoint with unflushed WAL records")
        precondition(checkpointInProgress == nil, "a checkpoint while another runs")
        let generation = superblock.generation + 1
        pages.generationLimit = generation
        let checkpointSequence = nextSequence - 1
        try wal.startSegment(firstSequence: nextSequence)
        try carryLogsOver()
        let job = CheckpointJob(
            generation: generation, checkpointSequence: checkpointSequence, segmentName: wal.segmentName!,
            allocator: PageAllocator(free: freePages, pages: pages), remaining: memtable.keys.sorted())
        checkpointInProgress = job
        return job
    }

    /// Under the lock: the next collections of the job, each as it is now, with
    /// pages allocated for it (pages free in the last durable checkpoint).
    public func takeSlice(of job: CheckpointJob) throws -> CheckpointJob.Slice {
        var slice = CheckpointJob.Slice()
        var bytes = 0
        while let pointer = job.remaining.first, bytes < Self.checkpointSliceBytes {
            job.remaining = job.remaining.dropFirst()
            guard let dirty = memtable[pointer] else { continue }
            job.capturedThrough = max(job.capturedThrough, dirty.lastSequence)
            if let old = try index.location(of: pointer) {
                job.released.append(contentsOf: (0..<old.pageCount).map { old.firstPage + $0 })
            }
            var location: CollectionLocation?
            if !dirty.collection.isEmpty {
                let byteCount = dirty.collection.encodedByteCount
                let count = PageChain.pagesNeeded(for: byteCount)
                location = CollectionLocation(
                    firstPage: job.allocator.allocateRun(count), pageCount: UInt32(count), byteCount: UInt32(byteCount))
                bytes += byteCount
            }
            slice.collections.append((pointer, dirty.collection, dirty.lastSequence, location))
        }
        return slice
    }

    /// Without the lock: encodes and writes a slice's collections to their new pages (not synced yet).
    /// A collection is encoded into its pages this many pages at a time.
    static let checkpointWritePages = 256

    public func writeSlice(_ slice: CheckpointJob.Slice) throws {
        let generation = pages.generationLimit
        let pieceBytes = Self.checkpointWritePages * Page.payloadCapacity
        // Small collections' pages share writes (their runs are mostly adjacent).
        var pending: [Page] = []
        for entry in slice.collections {
            guard let location = entry.location else { continue }
            // Encoded and written a piece at a time: a large collection is never copied whole.
            var pagesWritten: UInt32 = 0
            var bytesWritten = 0
            try entry.collection.encode(inPiecesOf: pieceBytes) { piece in
                bytesWritten += piece.count
                let count = UInt32(PageChain.pagesNeeded(for: piece.count))
                let first = location.firstPage + pagesWritten
                pagesWritten += count
                precondition(pagesWritten <= location.pageCount, "a collection grew between its slice and its write")
                let last = bytesWritten == Int(location.byteCount)
                pending += PageChain.pages(for: piece, numbers: (0..<count).map { first + $0 }, kind: .collection,
                                           generation: generation, nextAfterLast: last ? 0 : first + count)
                if pending.count >= Self.checkpointWritePages {
                    try pages.write(pending)
                    pending = []
                }
            }
            precondition(bytesWritten == Int(location.byteCount) && pagesWritten == location.pageCount,
                         "a collection changed size between its slice and its write")
        }
        if !pending.isEmpty { try pages.write(pending) }
    }

    /// Under the lock: the index points at the slice's new pages; a collection
    /// not changed since its slice was taken leaves the memtable for the cache.
    public func finishSlice(_ slice: CheckpointJob.Slice, of job: CheckpointJob) throws {
        for entry in slice.collections {
            let existed = try index.location(of: entry.pointer) != nil
            try index.set(entry.pointer, entry.location)
            if entry.location != nil && !existed { collectionCount += 1 }
            if entry.location == nil && existed { collectionCount -= 1 }
            if memtable[entry.pointer]?.lastSequence == entry.lastSequence {
                memtable[entry.pointer] = nil
                if !entry.collection.isEmpty { cache.insert(entry.pointer, entry.collection) }
            }
        }
    }

    /// Without the lock: makes the written collection pages durable.
    public func syncSlices() throws {
        try pages.sync()
    }

    /// Under the lock: buckets that changed, the directory and the free list, on fresh pages, and the new superblock.
    public func layOutMetadata(of job: CheckpointJob) throws -> CheckpointJob.Metadata {
        precondition(job.capturedThrough <= durableSequence,
                     "checkpoint \(job.generation) took writes through record \(job.capturedThrough), durable only through \(durableSequence)")
        var written: [Page] = []
        let dirtyBuckets = index.dirtyBuckets
        for bucket in dirtyBuckets {
            if bucket.page != 0 { job.released.append(bucket.page) }
            bucket.page = job.allocator.allocateRun(1)
            written.append(Page(number: bucket.page, kind: .bucket, next: 0, generation: job.generation, payload: index.encodedBucket(bucket)))
        }
        job.released.append(contentsOf: index.orphanedPages.filter { $0 != 0 })

        // The directory, as one run, whenever a bucket moved.
        var directoryFirstPage = superblock.directoryFirstPage
        if !dirtyBuckets.isEmpty || index.directoryDirty || directoryFirstPage == 0 {
            if directoryFirstPage != 0 {
                job.released.append(contentsOf: (0..<UInt32(superblock.directoryPageCount)).map { directoryFirstPage + $0 })
            }
            let bytes = index.encodedDirectory()
            let count = PageChain.pagesNeeded(for: bytes.count)
            directoryFirstPage = job.allocator.allocateRun(count)
            written.append(contentsOf: PageChain.pages(
                for: bytes, numbers: (0..<UInt32(count)).map { directoryFirstPage + $0 }, kind: .directory, generation: job.generation))
        }

        // The free list of the new checkpoint: what no one allocated, what this
        // checkpoint released, and the old free list's own pages.
        if superblock.freeListFirstPage != 0 {
            job.released.append(contentsOf: (0..<superblock.freeListPageCount).map { superblock.freeListFirstPage + $0 })
        }
        let freeList = FreeListLayout(allocator: &job.allocator, released: job.released, generation: job.generation)
        written.append(contentsOf: freeList.pages)
        let next = Superblock(
            generation: job.generation, checkpointSequence: job.checkpointSequence, pageCount: pages.pageCount,
            globalDepth: UInt8(index.globalDepth), directoryFirstPage: directoryFirstPage,
            freeListFirstPage: freeList.firstPage, freeListPageCount: UInt32(freeList.pageCount),
            collectionCount: collectionCount)
        index.markClean()
        index.orphanedPages = []
        return CheckpointJob.Metadata(pages: written, superblock: next, free: freeList.free)
    }

    /// Without the lock: the metadata pages, then the superblock, each durable before the next step.
    public func writeMetadata(_ metadata: CheckpointJob.Metadata) throws {
        try pages.write(metadata.pages)
        try pages.sync()
        try pages.write(metadata.superblock.page())
        try pages.sync()
    }

    /// Under the lock: the new checkpoint is the durable one; the WAL segments it covers go.
    public func finishCheckpoint(_ job: CheckpointJob, _ metadata: CheckpointJob.Metadata) throws {
        superblock = metadata.superblock
        freePages = metadata.free
        checkpointInProgress = nil
        try wal.removeSegments(before: job.segmentName)
    }

    /// The logs live only in the WAL: the new segment starts with each log as
    /// it stands, in one record, made durable before the older segments go.
    /// Logs are truncated as their owners apply, so this is their live tail.
    private func carryLogsOver() throws {
        guard !logs.isEmpty else { return }
        let changes = logs.keys.sorted().map { id in
            let log = logs[id]!
            return LogChange(log: id, truncation: .reset(after: log.base), entries: log.entries, state: log.state)
        }
        let batch = WALBatch(firstSequence: nextSequence, effects: [], logChanges: changes)
        var record: [UInt8] = []
        WALRecordFormat.encode(batch, into: &record)
        try wal.appendCarriedLogs(record)
        try wal.sync()
        nextSequence = batch.lastSequence + 1
        durableSequence = batch.lastSequence
    }
}
