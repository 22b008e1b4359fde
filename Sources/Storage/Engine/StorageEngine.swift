import Keyspace

/// Settings of one store.
public struct StorageOptions: Sendable {
    /// Decoded collections kept in memory after reads (clean ones; dirty ones stay until checkpointed).
    public var cacheBytesMaximum = 256 * 1024 * 1024
    /// A checkpoint starts once the WAL has grown by this much, bounding recovery time.
    public var checkpointWALBytes = 64 * 1024 * 1024
    /// The WAL is zero-filled (and synced) this far ahead of its writes, so that a
    /// commit's fdatasync has no file-size change to journal.
    public var walZeroFillBytes = 4 * 1024 * 1024

    public init() {}
}

/// What recovery found when the store opened.
public struct RecoveryReport: Sendable, CustomStringConvertible {
    public var checkpointGeneration: UInt64 = 0
    public var checkpointSequence: UInt64 = 0
    public var walBatchesReplayed = 0
    public var walBytesRead = 0
    /// A torn WAL tail that was cut (never-acknowledged writes of a crash).
    public var discardedTail: String?

    public var description: String {
        "checkpoint \(checkpointGeneration) at sequence \(checkpointSequence), replayed \(walBatchesReplayed) WAL batches"
            + " (\(walBytesRead) bytes)" + (discardedTail.map { "; cut torn tail: \($0)" } ?? "")
    }
}

/// The rnd storage engine: a write-ahead log, a page file of 4 KiB pages, an
/// extendible-hash index from pointer to collection, and checkpoints.
///
/// Synchronous and single-owner (sans-I/O in spirit: all disk access goes
/// through ``StorageDirectory``). ``Store`` wraps it for concurrent use with
/// group commit; tests and the simulator drive it directly.
///
/// Writes are decided and applied in memory at ``prepare(_:)``, which also
/// frames their WAL record; they are durable, and may be acknowledged, once a
/// ``flush()`` (or the group committer) has written and synced that record.
public final class StorageEngine {
    struct DirtyCollection {
        var collection: ItemCollection
        /// Sequence of the last write to it: readers wait until that is durable.
        var lastSequence: UInt64
    }

    let options: StorageOptions
    let directory: StorageDirectory
    let pages: PageFile
    let wal: WriteAheadLog
    var superblock: Superblock
    var index: HashIndex
    var freePages: [UInt32]
    var memtable: [Pointer: DirtyCollection] = [:]
    /// The checkpoint being written, if one is (see ``beginCheckpoint()``).
    public internal(set) var checkpointInProgress: CheckpointJob?
    /// Replicated logs kept in the WAL, by id: their entries since the last truncation.
    public internal(set) var logs: [UInt64: StoredLog] = [:]
    var cache = CollectionCache()
    var pendingWAL: [UInt8] = []
    var collectionCount: UInt64
    public internal(set) var nextSequence: UInt64
    /// Every write up to this sequence is durable.
    public internal(set) var durableSequence: UInt64
    public private(set) var recoveryReport = RecoveryReport()

    /// Opens the store in `directory`, recovering from the last checkpoint and the WAL.
    public init(directory: StorageDirectory, options: StorageOptions = StorageOptions()) throws {
        self.options = options
        self.directory = directory
        cache.bytesMaximum = options.cacheBytesMaximum
        let pageFile = PageFile(file: try directory.openFile(PageFile.fileName), pageCount: 2)
        pages = pageFile
        wal = WriteAheadLog(directory: directory, zeroFillStepBytes: options.walZeroFillBytes)
        if let loaded = try Superblock.load(from: pageFile), loaded.generation > 0 {
            superblock = loaded
            pageFile.restorePageCount(loaded.pageCount)
            pageFile.generationLimit = loaded.generation
            index = try HashIndex(pages: pageFile, globalDepth: Int(loaded.globalDepth), directoryFirstPage: loaded.directoryFirstPage)
            freePages = try Self.readFreeList(pageFile, loaded)
        } else {
            // A new store (or one whose creation a crash interrupted): the empty
            // superblock goes first, so that from now on the file always has one.
            superblock = .empty
            try pageFile.write(Superblock.empty.page())
            try pageFile.sync()
            try directory.sync()
            index = HashIndex(pages: pageFile)
            freePages = []
        }
        collectionCount = superblock.collectionCount
        nextSequence = superblock.checkpointSequence + 1
        durableSequence = superblock.checkpointSequence
        try recover()
    }

    static func readFreeList(_ pages: PageFile, _ superblock: Superblock) throws -> [UInt32] {
        guard superblock.freeListFirstPage != 0 else { return [] }
        let bytes = try PageChain.read(from: pages, first: superblock.freeListFirstPage, kind: .freeList)
        var reader = ByteReader(bytes)
        guard let count = try? reader.readUInt32(), Int(count) * 4 <= reader.remaining else {
            throw StorageError.corruption(file: pages.file.name, location: "page \(superblock.freeListFirstPage)", reason: "free list is truncated")
        }
        return (0..<count).map { _ in try! reader.readUInt32() }
    }

    private func recover() throws {
        let recovery = try wal.recover(after: superblock.checkpointSequence)
        if let first = recovery.batches.first, first.firstSequence > superblock.checkpointSequence + 1 {
            throw StorageError.corruption(
                file: "wal", location: "first record",
                reason: "WAL starts at sequence \(first.firstSequence) but the checkpoint ends at \(superblock.checkpointSequence)")
        }
        for batch in recovery.batches {
            let skip = batch.firstSequence <= superblock.checkpointSequence
                ? Int(superblock.checkpointSequence - batch.firstSequence + 1) : 0
            try apply(batch, skippingFirst: skip)
            try applyLogChanges(batch.logChanges, file: "wal", sequence: batch.firstSequence)
        }
        if let last = recovery.batches.last { nextSequence = max(nextSequence, last.lastSequence + 1) }
        durableSequence = nextSequence - 1
        recoveryReport = RecoveryReport(
            checkpointGeneration: superblock.generation, checkpointSequence: superblock.checkpointSequence,
            walBatchesReplayed: recovery.batches.count, walBytesRead: recovery.totalBytes,
            discardedTail: recovery.discardedTail.map { "\($0.segment) at offset \($0.offset): \($0.bytes) bytes (\($0.reason))" })
        if let last = recovery.lastSegment {
            try wal.resume(segment: last.name, at: last.validBytes)
        } else {
            try wal.startSegment(firstSequence: nextSequence)
        }
    }

    // MARK: - Writes

    /// The decision on a batch, and the sequence that must be durable before
    /// the caller may report it (a failed condition reports state that may
    /// itself still be in flight).
    public struct PreparedWrite: Sendable {
        public var outcome: BatchOutcome
        public var durableSequenceNeeded: UInt64
    }

    /// Checks the batch's conditions against the current state and, if all hold,
    /// applies it in memory and frames its WAL record. All or nothing.
    public func prepare(_ writes: [Write]) throws -> PreparedWrite {
        guard !writes.isEmpty else { throw StorageError.invalidBatch("a batch needs at least one write") }
        guard writes.count <= StorageLimits.batchWritesMaximum else {
            throw StorageError.invalidBatch("\(writes.count) writes, at most \(StorageLimits.batchWritesMaximum) allowed")
        }
        var pointers: [Pointer] = []
        pointers.reserveCapacity(writes.count)
        for write in writes {
            guard write.key.type == .rnd else { throw StorageError.unsupportedResourceType(write.key.type.rawValue) }
            if case .put(let value) = write.change, value.count > StorageLimits.valueBytesMaximum {
                throw StorageError.valueTooLarge(bytes: value.count, limit: StorageLimits.valueBytesMaximum)
            }
            pointers.append(write.key.pointer)
        }
        if writes.count > 1 {
            var seen = Set<Key>(minimumCapacity: writes.count)
            for write in writes where !seen.insert(write.key).inserted {
                throw StorageError.invalidBatch("two writes to the same item \(write.key.text)")
            }
        }
        var observed: UInt64 = 0
        for (position, (write, pointer)) in zip(writes, pointers).enumerated() {
            let (collection, lastSequence) = try collection(pointer)
            observed = max(observed, lastSequence)
            let current = collection.item(write.key.sortKey)
            if !write.condition.holds(for: current) {
                return PreparedWrite(
                    outcome: .conditionFailed(index: position, currentVersion: current?.version),
                    durableSequenceNeeded: observed)
            }
        }
        let effects: [WALBatch.Effect] = zip(writes, pointers).enumerated().map { position, pair in
            let (write, pointer) = pair
            return switch write.change {
            case .put(let value):
                .put(pointer: pointer, collection: write.key.canonicalCollectionBytes, sortKey: write.key.sortKey,
                     value: value, version: nextSequence + UInt64(position))
            case .delete: .delete(pointer: pointer, sortKey: write.key.sortKey)
            }
        }
        let batch = WALBatch(firstSequence: nextSequence, effects: effects)
        WALRecordFormat.encode(batch, into: &pendingWAL)
        try apply(batch, skippingFirst: 0)
        nextSequence = batch.lastSequence + 1
        return PreparedWrite(
            outcome: .applied(versions: (0..<UInt64(effects.count)).map { batch.firstSequence + $0 }),
            durableSequenceNeeded: batch.lastSequence)
    }

    /// Applies a group commit's item writes (unconditional, in order: a later
    /// write to an item replaces an earlier one) and log changes, and frames
    /// them as one WAL record, so that they become durable together or not at all.
    public func prepareGroup(updates: [ItemUpdate], logChanges: [LogChange]) throws -> PreparedWrite {
        var effects: [WALBatch.Effect] = []
        effects.reserveCapacity(updates.count)
        for update in updates {
            if let value = update.value {
                guard value.count <= StorageLimits.valueBytesMaximum else {
                    throw StorageError.valueTooLarge(bytes: value.count, limit: StorageLimits.valueBytesMaximum)
                }
                effects.append(.put(pointer: update.pointer, collection: update.collection, sortKey: update.sortKey,
                                    value: value, version: update.version))
            } else {
                effects.append(.delete(pointer: update.pointer, sortKey: update.sortKey))
            }
        }
        let changes = logChanges.filter { !$0.isEmpty }
        guard !effects.isEmpty || !changes.isEmpty else {
            return PreparedWrite(outcome: .applied(versions: []), durableSequenceNeeded: 0)
        }
        // Checked before anything applies: a refused group changes nothing.
        var after: [UInt64: StoredLog] = [:]
        for change in changes {
            var log = after[change.log] ?? logs[change.log] ?? StoredLog()
            if let refusal = log.refusal(of: change) { throw StorageError.invalidBatch(refusal) }
            log.apply(change)
            after[change.log] = log
        }
        let batch = WALBatch(firstSequence: nextSequence, effects: effects, logChanges: changes)
        WALRecordFormat.encode(batch, into: &pendingWAL)
        try apply(batch, skippingFirst: 0)
        for (id, log) in after { logs[id] = log.isEmpty ? nil : log }
        nextSequence = batch.lastSequence + 1
        return PreparedWrite(
            outcome: .applied(versions: (0..<UInt64(effects.count)).map { batch.firstSequence + $0 }),
            durableSequenceNeeded: batch.lastSequence)
    }

    /// Replays log changes read back from the WAL; a change that does not fit its log is corruption.
    private func applyLogChanges(_ changes: [LogChange], file: String, sequence: UInt64) throws {
        for change in changes {
            var log = logs[change.log] ?? StoredLog()
            if let refusal = log.refusal(of: change) {
                throw StorageError.corruption(file: file, location: "record at sequence \(sequence)", reason: refusal)
            }
            log.apply(change)
            logs[change.log] = log.isEmpty ? nil : log
        }
    }

    private func apply(_ batch: WALBatch, skippingFirst skip: Int) throws {
        for (offset, effect) in batch.effects.enumerated() where offset >= skip {
            let sequence = batch.firstSequence + UInt64(offset)
            // Taken out of the table while it changes, so that its items array has
            // one owner and is edited in place instead of copied on every write.
            var dirty = try memtable.removeValue(forKey: effect.pointer)
                ?? DirtyCollection(collection: collection(effect.pointer).collection, lastSequence: 0)
            cache.remove(effect.pointer)
            switch effect {
            case .put(_, let name, let sortKey, let value, let version):
                dirty.collection.name(name)
                dirty.collection.put(Item(sortKey: sortKey, version: version, value: value))
            case .delete(_, let sortKey):
                dirty.collection.delete(sortKey)
            }
            dirty.lastSequence = sequence
            memtable[effect.pointer] = dirty
        }
    }

    /// Whether framed WAL records wait to be written.
    public var hasPendingWAL: Bool { !pendingWAL.isEmpty }
    /// Bytes of records prepared and not yet appended to the WAL.
    var pendingWALBytes: Int { pendingWAL.count }

    /// Hands the framed records to the committer, with the last sequence they hold.
    func takePendingWAL() -> (records: [UInt8], lastSequence: UInt64) {
        defer { pendingWAL = [] }
        return (pendingWAL, nextSequence - 1)
    }

    /// Writes and syncs every prepared record: afterwards all prepared writes are durable.
    @discardableResult
    public func flush() throws -> UInt64 {
        let (records, lastSequence) = takePendingWAL()
        if !records.isEmpty {
            try wal.append(records)
            try wal.sync()
        }
        durableSequence = lastSequence
        return lastSequence
    }

    // MARK: - Reads

    /// The item, and the sequence that must be durable before it may be returned.
    public func get(_ key: Key) throws -> (item: Item?, durableSequenceNeeded: UInt64) {
        guard key.type == .rnd else { throw StorageError.unsupportedResourceType(key.type.rawValue) }
        let (collection, lastSequence) = try collection(key.pointer)
        return (collection.item(key.sortKey), lastSequence)
    }

    /// A page of the collection of `key` (its sort key is ignored).
    public func query(_ key: Key, _ range: QueryRange) throws -> (page: QueryPage, durableSequenceNeeded: UInt64) {
        guard key.type == .rnd else { throw StorageError.unsupportedResourceType(key.type.rawValue) }
        let (collection, lastSequence) = try collection(key.pointer)
        return (collection.query(range), lastSequence)
    }

    /// The item now, durable or not: for an owner that orders its own reads
    /// after its writes (a cell's state machine on its event loop).
    public func item(pointer: Pointer, sortKey: [UInt8]) throws -> Item? {
        try collection(pointer).collection.item(sortKey)
    }

    /// A page of a collection now, durable or not (see ``item(pointer:sortKey:)``).
    public func query(pointer: Pointer, _ range: QueryRange) throws -> QueryPage {
        try collection(pointer).collection.query(range)
    }

    /// Every non-empty collection whose pointer starts with the `depth` bits of
    /// `prefix` (a cell), in pointer order, durable or not. Reads the index
    /// buckets that cover the prefix, and each collection once.
    public func collections(withPrefix prefix: UInt64, depth: Int) throws -> [ScannedCollection] {
        try collectionPointers(withPrefix: prefix, depth: depth).compactMap { try scannedCollection(pointer: $0) }
    }

    /// The pointers of ``collections(withPrefix:depth:)``, without reading
    /// the collections (some may turn out empty): for a reader that takes a
    /// large cell one collection at a time.
    public func collectionPointers(withPrefix prefix: UInt64, depth: Int) throws -> [Pointer] {
        func matches(_ pointer: Pointer) -> Bool {
            depth == 0 || pointer.leadingWord >> UInt64(64 - depth) == prefix
        }
        var pointers = Set(memtable.keys.filter(matches))
        for pointer in try index.pointers(withPrefix: prefix, depth: depth) { pointers.insert(pointer) }
        return pointers.sorted()
    }

    /// One collection now, durable or not; nil when it is empty.
    public func scannedCollection(pointer: Pointer) throws -> ScannedCollection? {
        let collection = try self.collection(pointer).collection
        guard !collection.isEmpty else { return nil }
        return ScannedCollection(name: collection.name, pointer: pointer, items: collection.items)
    }

    /// The current collection of a pointer: in-flight changes first, then the cache, then disk.
    func collection(_ pointer: Pointer) throws -> (collection: ItemCollection, lastSequence: UInt64) {
        if let dirty = memtable[pointer] { return (dirty.collection, dirty.lastSequence) }
        if let cached = cache.get(pointer) { return (cached, 0) }
        guard let location = try index.location(of: pointer) else { return (ItemCollection(), 0) }
        let collection = try readCollection(at: location)
        cache.insert(pointer, collection)
        return (collection, 0)
    }

    func readCollection(at location: CollectionLocation) throws -> ItemCollection {
        let bytes = try pages.file.read(at: Int(location.firstPage) * Page.size, count: Int(location.pageCount) * Page.size)
        var stream: [UInt8] = []
        stream.reserveCapacity(Int(location.byteCount))
        for offset in 0..<Int(location.pageCount) {
            let number = location.firstPage + UInt32(offset)
            let pageBytes = offset * Page.size + Page.size <= bytes.count
                ? Array(bytes[(offset * Page.size)..<(offset * Page.size + Page.size)]) : []
            let page = try pages.checked(Page.decode(pageBytes, number: number, expecting: .collection, file: pages.file.name))
            stream.append(contentsOf: page.payload)
        }
        guard stream.count == Int(location.byteCount) else {
            throw StorageError.corruption(
                file: pages.file.name, location: "page \(location.firstPage)",
                reason: "collection has \(stream.count) bytes, index says \(location.byteCount)")
        }
        return try ItemCollection(decoding: stream, file: pages.file.name, location: "page \(location.firstPage)")
    }

    // MARK: - State

    /// Whether the WAL has grown enough since the last checkpoint to take one.
    public var needsCheckpoint: Bool { checkpointInProgress == nil && wal.bytesSinceCheckpoint >= options.checkpointWALBytes }

    public var statistics: StorageStatistics {
        StorageStatistics(
            nextSequence: nextSequence, durableSequence: durableSequence,
            checkpointGeneration: superblock.generation, checkpointSequence: superblock.checkpointSequence,
            pageCount: Int(pages.pageCount), freePageCount: freePages.count,
            dirtyCollections: memtable.count, cachedCollections: cache.count, cachedBytes: cache.bytes,
            walBytesSinceCheckpoint: wal.bytesSinceCheckpoint)
    }

    /// Flushes, checkpoints and releases the files.
    public func close() throws {
        try flush()
        try checkpoint()
        wal.close()
        pages.file.close()
        directory.close()
    }
}

/// Counters of one store, for `tessera` output and metrics.
public struct StorageStatistics: Sendable, Hashable {
    public var nextSequence: UInt64
    public var durableSequence: UInt64
    public var checkpointGeneration: UInt64
    public var checkpointSequence: UInt64
    public var pageCount: Int
    public var freePageCount: Int
    public var dirtyCollections: Int
    public var cachedCollections: Int
    public var cachedBytes: Int
    public var walBytesSinceCheckpoint: Int
}
