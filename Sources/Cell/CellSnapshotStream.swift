import Storage

/// Decodes ``CellSnapshotFormat`` bytes one element at a time, pulling them
/// from a reader a window at a time: a snapshot larger than memory (a staged
/// file) is read without being held. It rejects exactly what
/// ``CellSnapshotFormat/decode(_:)`` rejects, which is built on it.
public struct CellSnapshotStream {
    /// `count` bytes from `offset` (fewer only at the end).
    public typealias Read = (_ offset: Int, _ count: Int) throws -> [UInt8]

    public enum Element {
        /// A collection starts; its items follow, ascending by sort key.
        case collection(name: [UInt8], itemCount: Int)
        case item(Item)
        /// The sessions, ascending by client, after the last collection; then nothing.
        case sessions([(client: UInt64, session: ClientSession)])
    }

    private enum Position {
        case start
        case collections(left: Int)
        case items(left: Int, collectionsLeft: Int)
        case sessions
        case end
    }

    public let totalBytes: Int
    private let read: Read
    private let windowBytes: Int
    /// Bytes read ahead, from absolute offset `windowStart`.
    private var window: [UInt8] = []
    private var windowStart = 0
    /// The absolute offset of the next byte to decode.
    public private(set) var offset = 0
    private var position = Position.start
    private var previousName: [UInt8]?
    private var previousSortKey: [UInt8]?

    public init(totalBytes: Int, windowBytes: Int = 1 << 20, read: @escaping Read) {
        self.totalBytes = totalBytes
        self.windowBytes = max(windowBytes, 64)
        self.read = read
    }

    /// Over bytes in memory.
    public init(bytes: [UInt8]) {
        self.init(totalBytes: bytes.count, windowBytes: bytes.count) { offset, count in
            Array(bytes[offset..<min(bytes.count, offset + count)])
        }
    }

    /// The next element; nil once the sessions were read and the bytes ended there.
    public mutating func next() throws -> Element? {
        switch position {
        case .start:
            let count = try readCount(each: CellSnapshotFormat.collectionBytesMinimum, of: "collections")
            position = .collections(left: count)
            return try next()
        case .collections(let left):
            guard left > 0 else {
                position = .sessions
                return try next()
            }
            let name = try readBlob()
            if let previousName, !previousName.lexicographicallyPrecedes(name) {
                throw CellCommand.DecodingError(reason: "collections out of order at byte \(offset)")
            }
            previousName = name
            let itemCount = try readCount(each: CellSnapshotFormat.itemBytesMinimum, of: "items")
            guard itemCount > 0 else { throw CellCommand.DecodingError(reason: "empty collection at byte \(offset)") }
            previousSortKey = nil
            position = .items(left: itemCount, collectionsLeft: left - 1)
            return .collection(name: name, itemCount: itemCount)
        case .items(let left, let collectionsLeft):
            let sortKey = try readBlob()
            let value = try readBlob()
            let item = Item(sortKey: sortKey, version: try readInteger(UInt64.self), value: value)
            if let previousSortKey, !previousSortKey.lexicographicallyPrecedes(item.sortKey) {
                throw CellCommand.DecodingError(reason: "items out of sort-key order at byte \(offset)")
            }
            previousSortKey = item.sortKey
            position = left > 1 ? .items(left: left - 1, collectionsLeft: collectionsLeft) : .collections(left: collectionsLeft)
            return .item(item)
        case .sessions:
            // The sessions close the bytes and are small (a few per client): decoded at once, where
            // the window holds them (offsets in its reasons count from the window's start).
            try fill(totalBytes - offset)
            var reader = CommandReader(bytes: window, offset: offset - windowStart)
            let sessions = try CellSnapshotFormat.readSessions(&reader)
            guard reader.isAtEnd else { throw CellCommand.DecodingError(reason: "trailing bytes after snapshot") }
            offset = totalBytes
            position = .end
            return .sessions(sessions)
        case .end:
            return nil
        }
    }

    /// Reads every element, checking them, and keeps none.
    public mutating func validate() throws {
        while try next() != nil {}
    }

    // MARK: Reading

    private mutating func take(_ count: Int) throws -> [UInt8] {
        try fill(count)
        let start = offset - windowStart
        offset += count
        return Array(window[start..<start + count])
    }

    /// Makes the window hold `count` bytes from `offset`.
    private mutating func fill(_ count: Int) throws {
        guard count <= totalBytes - offset else {
            throw CellCommand.DecodingError(reason: "truncated: \(count) bytes wanted at byte \(offset) of \(totalBytes)")
        }
        let windowEnd = windowStart + window.count
        if offset + count > windowEnd {
            // Keep what is not decoded yet, then read at least a window more.
            window.removeFirst(offset - windowStart)
            windowStart = offset
            let from = windowStart + window.count
            let wanted = min(max(offset + count - from, windowBytes), totalBytes - from)
            let more = try read(from, wanted)
            guard more.count == wanted else {
                throw CellCommand.DecodingError(reason: "truncated: \(more.count) of \(wanted) bytes read at byte \(from)")
            }
            window += more
        }
    }

    private mutating func readInteger<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let bytes = try take(MemoryLayout<T>.size)
        return bytes.reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }

    private mutating func readBlob() throws -> [UInt8] {
        let count = Int(try readInteger(UInt32.self))
        return try take(count)
    }

    private mutating func readCount(each minimum: Int, of what: String) throws -> Int {
        let count = Int(try readInteger(UInt32.self))
        guard count <= (totalBytes - offset) / minimum else {
            throw CellCommand.DecodingError(
                reason: "\(count) \(what) cannot fit in the \(totalBytes - offset) bytes left at byte \(offset)")
        }
        return count
    }
}
