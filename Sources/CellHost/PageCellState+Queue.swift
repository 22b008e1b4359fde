import Cell
import Keyspace
import Storage

/// One entry read from a queue.
public struct QueueEntry: Hashable, Sendable {
    public var sequence: UInt64
    public var payload: [UInt8]

    public init(sequence: UInt64, payload: [UInt8]) {
        self.sequence = sequence
        self.payload = payload
    }
}

/// Where a queue's gathered entries are: an extent of the node's lnr store,
/// indexed in the queue's collection by its first sequence.
public struct ExtentIndexEntry: Hashable, Sendable {
    public var extentID: UInt64
    public var firstSequence: UInt64
    public var lastSequence: UInt64

    public init(extentID: UInt64, firstSequence: UInt64, lastSequence: UInt64) {
        self.extentID = extentID
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
    }

    /// `u64 extent | u64 last sequence`, little-endian (the first is in the sort key).
    public func encodedValue() -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: extentID.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: lastSequence.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    public init?(sortKey: [UInt8], value: [UInt8]) {
        guard let first = QueueLayout.extentFirstSequence(sortKey), value.count == 16 else { return nil }
        func read(_ offset: Int) -> UInt64 { value[offset..<offset + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        self.init(extentID: read(0), firstSequence: first, lastSequence: read(8))
    }
}

/// Reads the entries of one extent: `(extent, from, count, bytes)`, at least one entry when `from` is in it.
public typealias ExtentEntryReader = @Sendable (ExtentIndexEntry, UInt64, Int, Int) throws -> [QueueEntry]

/// Reading queues from the page store, on any thread: a shard between
/// applying entries, the node's extent gatherer, a snapshot being written.
public struct QueueItems: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public func item(_ queue: [UInt8], _ sortKey: [UInt8]) throws -> Item? {
        try store.readNow { try $0.item(pointer: Pointer(hashing: queue), sortKey: sortKey) }
    }

    public func queueHead(_ queue: [UInt8]) throws -> QueueHead? {
        guard let item = try item(queue, QueueLayout.headSortKey) else { return nil }
        return try QueueHead(decoding: item.value)
    }

    public func queuePosition(_ queue: [UInt8], group: String) throws -> UInt64? {
        guard let item = try item(queue, QueueLayout.positionSortKey(group: group)) else { return nil }
        return QueueLayout.position(item.value)
    }

    /// Entries from `from` on, in order, at most `countMaximum` of them and
    /// about `bytesMaximum` payload bytes (at least one entry when there is
    /// one), from the staged items or, for entries already gathered, from the
    /// node's extents.
    public func queueEntries(_ queue: [UInt8], head: QueueHead, from: UInt64, countMaximum: Int, bytesMaximum: Int,
                             extents: ExtentEntryReader) throws -> [QueueEntry] {
        var entries: [QueueEntry] = []
        var bytes = 0
        var next = max(from, head.firstAvailable)
        while next <= head.lastSequence, entries.count < countMaximum, entries.isEmpty || bytes < bytesMaximum {
            let staged = try stagedEntries(queue, from: next, through: head.lastSequence,
                                           countMaximum: countMaximum - entries.count, bytesMaximum: bytesMaximum - bytes)
            if let first = staged.first, first.sequence == next {
                entries += staged
                bytes += staged.reduce(0) { $0 + $1.payload.count }
                next = staged.last!.sequence + 1
                continue
            }
            // Not staged: gathered into an extent (or trimmed meanwhile by this node's sweeper).
            guard let extent = try extentHolding(queue, sequence: next) else {
                throw QueueReadError.missingEntry(sequence: next)
            }
            let gathered = try extents(extent, next, countMaximum - entries.count, max(1, bytesMaximum - bytes))
            guard let first = gathered.first, first.sequence == next else { throw QueueReadError.missingEntry(sequence: next) }
            entries += gathered
            bytes += gathered.reduce(0) { $0 + $1.payload.count }
            next = gathered.last!.sequence + 1
        }
        return entries
    }

    /// Staged entries starting exactly at `from` while they are consecutive.
    public func stagedEntries(_ queue: [UInt8], from: UInt64, through: UInt64, countMaximum: Int, bytesMaximum: Int) throws -> [QueueEntry] {
        let pointer = Pointer(hashing: queue)
        let range = QueueLayout.stagedRange(from: from, through: through)
        var entries: [QueueEntry] = []
        var current: (sequence: UInt64, payload: [UInt8], chunks: Int)?
        var bytes = 0
        var continuation: ContinuationToken?
        var pageLimit = 16
        func finishCurrent() -> Bool {
            guard let entry = current else { return true }
            current = nil
            guard entry.sequence == from + UInt64(entries.count) else { return false }
            entries.append(QueueEntry(sequence: entry.sequence, payload: entry.payload))
            bytes += entry.payload.count
            return entries.count < countMaximum && bytes < bytesMaximum
        }
        repeat {
            let page = try store.readNow {
                try $0.query(pointer: pointer, QueryRange(from: range.from, to: range.to, limit: pageLimit, continuation: continuation))
            }
            for item in page.items {
                guard let (sequence, chunk) = QueueLayout.staged(item.sortKey) else { continue }
                if let entry = current, entry.sequence != sequence {
                    guard finishCurrent() else { return entries }
                }
                if current == nil {
                    guard chunk == 0 else { return entries }
                    current = (sequence, item.value, 1)
                } else {
                    guard chunk == current!.chunks else { return entries }
                    current!.payload += item.value
                    current!.chunks += 1
                }
            }
            continuation = page.continuation
            let largest = page.items.map(\.value.count).max() ?? 1
            pageLimit = max(16, min(1_000, bytesMaximum / max(1, largest)))
        } while continuation != nil
        _ = finishCurrent()
        return entries
    }

    /// The extent whose first sequence is the greatest at or below `sequence`, if it holds it.
    public func extentHolding(_ queue: [UInt8], sequence: UInt64) throws -> ExtentIndexEntry? {
        guard let entry = try extent(queue, startingAtOrBefore: sequence), entry.lastSequence >= sequence else { return nil }
        return entry
    }

    /// The extent with the greatest first sequence at or below `sequence` (`.max`: the queue's newest extent).
    public func extent(_ queue: [UInt8], startingAtOrBefore sequence: UInt64) throws -> ExtentIndexEntry? {
        let page = try store.readNow {
            try $0.query(pointer: Pointer(hashing: queue),
                         QueryRange(from: QueueLayout.extentSortKey(firstSequence: 0),
                                    to: QueueLayout.extentSortKey(firstSequence: sequence), reverse: true, limit: 1))
        }
        return page.items.first.flatMap { ExtentIndexEntry(sortKey: $0.sortKey, value: $0.value) }
    }
}

/// A queue read that cannot be answered from this replica.
public enum QueueReadError: Error, CustomStringConvertible {
    case missingEntry(sequence: UInt64)
    /// A queue's staged entries and its extents overlap: its items are not as gathering leaves them.
    case outOfOrder(queue: String)

    public var description: String {
        switch self {
        case .missingEntry(let sequence): "entry \(sequence) is neither staged nor in an extent on this node"
        case .outOfOrder(let queue): "queue \(queue)'s staged entries overlap its extents"
        }
    }
}

extension PageCellState {
    public var queueItems: QueueItems { QueueItems(store: store) }
}
