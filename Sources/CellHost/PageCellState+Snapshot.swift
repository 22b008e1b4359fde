import Cell
import Keyspace
import Storage

/// Where a streamed snapshot goes: a file, or memory for a small one.
public protocol SnapshotSink {
    mutating func append(_ bytes: [UInt8]) throws
    /// Bytes appended so far.
    var bytesWritten: Int { get }
    /// Overwrites bytes already appended, from `offset` (a count known only at the end).
    mutating func patch(at offset: Int, _ bytes: [UInt8]) throws
}

public struct MemorySnapshotSink: SnapshotSink {
    public var bytes: [UInt8] = []
    public init() {}
    public var bytesWritten: Int { bytes.count }
    public mutating func append(_ more: [UInt8]) { bytes += more }
    public mutating func patch(at offset: Int, _ replacement: [UInt8]) {
        bytes.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
    }
}

/// Reads one cell's state from the store for a snapshot, one collection at a
/// time, on any thread: a cell larger than memory is written without being
/// held. See ``SnapshotBuild`` for how the state stays the one at its index.
public struct CellSnapshotSource: Sendable {
    let cell: UInt64
    let cellDepth: Int
    let store: Store
    let metadataName: [UInt8]
    let metadataPointer: Pointer
    /// Reads the node's extents: a queue's gathered entries travel as staged ones
    /// (extents are each node's own). Nil where nothing is ever gathered (the simulator).
    public var queueExtents: ExtentEntryReader?

    /// Writes the state at `build.index` in ``CellSnapshotFormat``: the same
    /// bytes as the in-memory state machine's at that index.
    public func write(_ build: SnapshotBuild, to sink: inout some SnapshotSink) throws {
        // Names first (the format orders collections by name), then each collection's items.
        var named: [(name: [UInt8], pointer: Pointer)] = []
        for pointer in try store.readNow({ try $0.collectionPointers(withPrefix: cell, depth: cellDepth) }) {
            guard !build.isCancelled else { throw SnapshotBuildCancelled() }
            guard let name = try store.readNow({ try $0.scannedCollection(pointer: pointer) })?.name,
                Self.isUserCollection(name) else { continue }
            named.append((name, pointer))
        }
        // Collections emptied after the index exist only as pre-images now.
        let seen = Set(named.map(\.name))
        for name in build.collectionsWithPreimages where Self.isUserCollection(name) && !seen.contains(name) {
            named.append((name, Pointer(hashing: name)))
        }
        named.sort { $0.name.lexicographicallyPrecedes($1.name) }

        try sink.append(CellSnapshotFormat.countBytes(0))
        var written = 0
        for (name, pointer) in named {
            guard !build.isCancelled else { throw SnapshotBuildCancelled() }
            let items = try itemsAtIndex(of: name, pointer: pointer, build)
            guard !items.isEmpty else { continue }
            if Self.isQueueCollection(name), items.contains(where: { QueueLayout.extentFirstSequence($0.sortKey) != nil }) {
                try writeStagedForm(of: items, queue: name, build, to: &sink)
            } else {
                try sink.append(CellSnapshotFormat.collectionBytes(name: name, items: items))
            }
            written += 1
        }
        let sessions = try itemsAtIndex(of: metadataName, pointer: metadataPointer, build, where: PageCellState.isSessionKey)
            .map { (client: PageCellState.client(of: $0.sortKey), encodedSession: $0.value) }
        try sink.append(CellSnapshotFormat.sessionsBytes(sessions))
        try sink.patch(at: 0, CellSnapshotFormat.countBytes(written))
    }

    /// A collection's items at the build's index, ascending by sort key.
    private func itemsAtIndex(of name: [UInt8], pointer: Pointer, _ build: SnapshotBuild,
                              where isPart: ([UInt8]) -> Bool = { _ in true }) throws -> [Item] {
        // The pre-images are read after the store: a write the store shows has its pre-image recorded already.
        let current = try store.readNow { try $0.scannedCollection(pointer: pointer) }?.items ?? []
        // A cancelled build records no pre-images: what it read may be newer than its index.
        // (The cancel comes before any write without a pre-image, so this check after the read suffices.)
        guard !build.isCancelled else { throw SnapshotBuildCancelled() }
        let preimages = build.preimages(in: name).filter { isPart($0.key) }
        var items = current.compactMap { item -> Item? in
            guard isPart(item.sortKey), preimages[item.sortKey] == nil else { return nil }
            precondition(item.version <= build.index,
                         "cell \(String(cell, radix: 16)): an item of version \(item.version) changed after the snapshot's index \(build.index) without a pre-image")
            return item
        }
        for case let (_, item?) in preimages { items.append(item) }
        items.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        return items
    }

    public static func isUserCollection(_ name: [UInt8]) -> Bool { !name.isEmpty && name.first != 0 }

    /// Whether a collection's canonical name (`account/resource/type/primaryKey`) is a queue's.
    public static func isQueueCollection(_ name: [UInt8]) -> Bool {
        let parts = name.split(separator: UInt8(ascii: "/"), maxSplits: 3, omittingEmptySubsequences: false)
        return parts.count == 4 && parts[2].elementsEqual("lnr".utf8)
    }

    /// Writes a queue's items with its extents' entries (past the trim point)
    /// in place of their index items, as staged items: extents are each
    /// node's own, and the follower gathers them into its own. Streamed one
    /// read of an extent at a time, so that a long queue is never held whole.
    private func writeStagedForm(of items: [Item], queue: [UInt8], _ build: SnapshotBuild,
                                 to sink: inout some SnapshotSink) throws {
        let indexed = items.compactMap { item in ExtentIndexEntry(sortKey: item.sortKey, value: item.value).map { ($0, item.version) } }
            .sorted { $0.0.firstSequence < $1.0.firstSequence }
        guard let queueExtents else { throw QueueReadError.missingEntry(sequence: indexed.first?.0.firstSequence ?? 0) }
        let trimmed = try items.first { $0.sortKey == QueueLayout.headSortKey }.map { try QueueHead(decoding: $0.value) }?.trimmedThrough ?? 0
        let kept = items.filter { QueueLayout.extentFirstSequence($0.sortKey) == nil }
        // In sort-key order: the head and group positions, then the extents' entries, then those still staged (newer).
        let beforeEntries = kept.filter { ($0.sortKey.first ?? 0) < QueueLayout.stagedPrefix }
        let stillStaged = kept.filter { ($0.sortKey.first ?? 0) >= QueueLayout.stagedPrefix }

        let start = CellSnapshotFormat.collectionStartBytes(name: queue, count: 0)
        let countOffset = sink.bytesWritten + start.count - 4
        try sink.append(start)
        var count = 0
        var previous: [UInt8]?
        func put(_ item: Item) throws {
            if let previous, !previous.lexicographicallyPrecedes(item.sortKey) {
                throw QueueReadError.outOfOrder(queue: String(decoding: queue, as: UTF8.self))
            }
            previous = item.sortKey
            try sink.append(CellSnapshotFormat.itemBytes(item))
            count += 1
        }
        for item in beforeEntries { try put(item) }
        for (extent, version) in indexed where extent.lastSequence > trimmed {
            var next = max(extent.firstSequence, trimmed + 1)
            while next <= extent.lastSequence {
                guard !build.isCancelled else { throw SnapshotBuildCancelled() }
                let entries = try queueExtents(extent, next, QueueLimits.readCountMaximum, QueueLimits.readBytesMaximum)
                guard let last = entries.last, entries.first?.sequence == next else { throw QueueReadError.missingEntry(sequence: next) }
                for entry in entries {
                    for (chunk, bytes) in QueueLayout.chunks(of: entry.payload).enumerated() {
                        try put(Item(sortKey: QueueLayout.stagedSortKey(sequence: entry.sequence, chunk: chunk), version: version, value: Array(bytes)))
                    }
                }
                next = last.sequence + 1
            }
        }
        for item in stillStaged { try put(item) }
        try sink.patch(at: countOffset, CellSnapshotFormat.countBytes(count))
    }
}

extension PageCellState {
    public var snapshotSource: CellSnapshotSource {
        CellSnapshotSource(cell: cell, cellDepth: cellDepth, store: store, metadataName: metadataName, metadataPointer: metadataPointer)
    }

    /// Keeps, for a build under way, what `updates` (just taken, not yet
    /// handed to the store) overwrite. The applied-state record is not part of a snapshot.
    public func recordPreimages(of updates: [ItemUpdate], into build: SnapshotBuild) throws {
        precondition(!hasPendingWrites, "pre-images are read from the store, after the writes were taken")
        for update in updates where !(update.collection == metadataName && update.sortKey == Self.baseSortKey) {
            let key = ItemKey(collection: update.collection, sortKey: update.sortKey)
            try build.recordPreimage(of: key) { try storedItem(key) }
        }
    }

    /// The cell's state at the applied index, in the snapshot format, in
    /// memory (for tests and small cells; a node streams it to a file).
    public func encodedSnapshot() throws -> [UInt8] {
        precondition(!hasPendingWrites, "a snapshot between applying entries and handing over their writes")
        var sink = MemorySnapshotSink()
        try snapshotSource.write(SnapshotBuild(cell: cell, index: appliedIndex), to: &sink)
        return sink.bytes
    }
}
