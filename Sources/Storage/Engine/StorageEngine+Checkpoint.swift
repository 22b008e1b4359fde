import Keyspace

extension StorageEngine {
    /// Writes every changed collection, bucket and the directory to fresh pages,
    /// then a new superblock, then starts a new WAL segment and drops the old.
    ///
    /// Crash safety comes from never overwriting a page the last durable
    /// checkpoint uses (see ``PageAllocator``): until the new superblock is
    /// synced, the old checkpoint plus the WAL is whole; after, the new one is.
    /// Every prepared write must be flushed first.
    public func checkpoint() throws {
        precondition(pendingWAL.isEmpty, "checkpoint with unflushed WAL records")
        let generation = superblock.generation + 1
        pages.generationLimit = generation
        var allocator = PageAllocator(free: freePages, pages: pages)
        var released: [UInt32] = []
        var written: [Page] = []

        // 1. Collections, in pointer order so that page layout is deterministic.
        for pointer in memtable.keys.sorted() {
            let dirty = memtable[pointer]!
            if let old = try index.location(of: pointer) {
                released.append(contentsOf: (0..<old.pageCount).map { old.firstPage + $0 })
            } else if !dirty.collection.isEmpty {
                collectionCount += 1
            }
            if dirty.collection.isEmpty {
                if try index.location(of: pointer) != nil { collectionCount -= 1 }
                try index.set(pointer, nil)
                continue
            }
            let bytes = dirty.collection.encoded()
            let count = PageChain.pagesNeeded(for: bytes.count)
            let first = allocator.allocateRun(count)
            let numbers = (0..<UInt32(count)).map { first + $0 }
            written.append(contentsOf: PageChain.pages(for: bytes, numbers: numbers, kind: .collection, generation: generation))
            try index.set(pointer, CollectionLocation(firstPage: first, pageCount: UInt32(count), byteCount: UInt32(bytes.count)))
        }

        // 2. Buckets that changed, each to a new page.
        let dirtyBuckets = index.dirtyBuckets
        for bucket in dirtyBuckets {
            if bucket.page != 0 { released.append(bucket.page) }
            bucket.page = allocator.allocateRun(1)
            written.append(Page(number: bucket.page, kind: .bucket, next: 0, generation: generation, payload: index.encodedBucket(bucket)))
        }
        released.append(contentsOf: index.orphanedPages.filter { $0 != 0 })

        // 3. The directory, as one run, whenever a bucket moved.
        var directoryFirstPage = superblock.directoryFirstPage
        if !dirtyBuckets.isEmpty || index.directoryDirty || directoryFirstPage == 0 {
            if directoryFirstPage != 0 {
                released.append(contentsOf: (0..<UInt32(superblock.directoryPageCount)).map { directoryFirstPage + $0 })
            }
            let bytes = index.encodedDirectory()
            let count = PageChain.pagesNeeded(for: bytes.count)
            directoryFirstPage = allocator.allocateRun(count)
            written.append(contentsOf: PageChain.pages(
                for: bytes, numbers: (0..<UInt32(count)).map { directoryFirstPage + $0 }, kind: .directory, generation: generation))
        }

        // 4. The free list of the new checkpoint: what no one allocated, what this
        // checkpoint released, and the old free list's own pages.
        if superblock.freeListFirstPage != 0 {
            released.append(contentsOf: (0..<superblock.freeListPageCount).map { superblock.freeListFirstPage + $0 })
        }
        let freeList = FreeListLayout(allocator: &allocator, released: released, generation: generation)
        written.append(contentsOf: freeList.pages)

        // 5. Pages, then the superblock, each made durable before the next step.
        try pages.write(written)
        try pages.sync()
        let next = Superblock(
            generation: generation, checkpointSequence: nextSequence - 1, pageCount: pages.pageCount,
            globalDepth: UInt8(index.globalDepth), directoryFirstPage: directoryFirstPage,
            freeListFirstPage: freeList.firstPage, freeListPageCount: UInt32(freeList.pageCount),
            collectionCount: collectionCount)
        try pages.write(next.page())
        try pages.sync()

        // 6. The new checkpoint is the durable one: adopt it and drop the old WAL.
        superblock = next
        freePages = freeList.free
        index.markClean()
        index.orphanedPages = []
        for (pointer, dirty) in memtable where !dirty.collection.isEmpty {
            cache.insert(pointer, dirty.collection)
        }
        memtable = [:]
        try wal.startSegment(firstSequence: nextSequence, removingOlder: false)
        try carryLogsOver()
        try wal.removeOlderSegments()
    }

    /// The logs live only in the WAL: before the older segments go, the new one
    /// starts with each log as it stands, in one record, made durable first.
    /// Logs are truncated as their owners snapshot, so this is their live tail.
    private func carryLogsOver() throws {
        guard !logs.isEmpty else { return }
        let changes = logs.keys.sorted().map { id in
            let log = logs[id]!
            return LogChange(log: id, truncation: .reset(after: log.base), entries: log.entries, state: log.state)
        }
        let batch = WALBatch(firstSequence: nextSequence, effects: [], logChanges: changes)
        var record: [UInt8] = []
        WALRecordFormat.encode(batch, into: &record)
        try wal.append(record)
        try wal.sync()
        nextSequence = batch.lastSequence + 1
        durableSequence = batch.lastSequence
    }
}
