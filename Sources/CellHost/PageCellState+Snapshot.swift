import Cell
import Keyspace
import Storage

/// Where a streamed snapshot goes: a file, or memory for a small one.
public protocol SnapshotSink {
    mutating func append(_ bytes: [UInt8]) throws
    /// Overwrites the first bytes (the collection count, known only at the end).
    mutating func patchStart(_ bytes: [UInt8]) throws
}

public struct MemorySnapshotSink: SnapshotSink {
    public var bytes: [UInt8] = []
    public init() {}
    public mutating func append(_ more: [UInt8]) { bytes += more }
    public mutating func patchStart(_ start: [UInt8]) { bytes.replaceSubrange(0..<start.count, with: start) }
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
            var items = try itemsAtIndex(of: name, pointer: pointer, build)
            if Self.isQueueCollection(name) { items = try stagedForm(of: items, queue: name) }
            guard !items.isEmpty else { continue }
            try sink.append(CellSnapshotFormat.collectionBytes(name: name, items: items))
            written += 1
        }
        let sessions = try itemsAtIndex(of: metadataName, pointer: metadataPointer, build, where: PageCellState.isSessionKey)
            .map { (client: PageCellState.client(of: $0.sortKey), encodedSession: $0.value) }
        try sink.append(CellSnapshotFormat.sessionsBytes(sessions))
        try sink.patchStart(CellSnapshotFormat.countBytes(written))
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

    /// A queue's items with its extents' entries (past the trim point) in place of their index entries.
    private func stagedForm(of items: [Item], queue: [UInt8]) throws -> [Item] {
        let indexed = items.compactMap { item in ExtentIndexEntry(sortKey: item.sortKey, value: item.value).map { ($0, item.version) } }
        guard !indexed.isEmpty else { return items }
        guard let queueExtents else { throw QueueReadError.missingEntry(sequence: indexed[0].0.firstSequence) }
        let trimmed = try items.first { $0.sortKey == QueueLayout.headSortKey }.map { try QueueHead(decoding: $0.value) }?.trimmedThrough ?? 0
        var result = items.filter { QueueLayout.extentFirstSequence($0.sortKey) == nil }
        for (extent, version) in indexed where extent.lastSequence > trimmed {
            var next = max(extent.firstSequence, trimmed + 1)
            while next <= extent.lastSequence {
                let entries = try queueExtents(extent, next, QueueLimits.readCountMaximum, QueueLimits.readBytesMaximum)
                guard let last = entries.last, entries.first?.sequence == next else { throw QueueReadError.missingEntry(sequence: next) }
                for entry in entries {
                    for (chunk, bytes) in QueueLayout.chunks(of: entry.payload).enumerated() {
                        let sortKey = QueueLayout.stagedSortKey(sequence: entry.sequence, chunk: chunk)
                        result.append(Item(sortKey: sortKey, version: version, value: Array(bytes)))
                    }
                }
                next = last.sequence + 1
            }
        }
        result.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        return result
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
