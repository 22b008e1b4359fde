import Storage

/// Where an item lives inside a cell: its collection (the canonical
/// `account/resource/type/primaryKey` bytes, what the pointer hashes) and its
/// sort key. Items of one collection are kept in sort-key order.
public struct ItemKey: Hashable, Sendable, Comparable {
    public var collection: [UInt8]
    public var sortKey: [UInt8]

    public init(collection: [UInt8], sortKey: [UInt8] = []) {
        self.collection = collection
        self.sortKey = sortKey
    }

    public static func < (lhs: ItemKey, rhs: ItemKey) -> Bool {
        if lhs.collection != rhs.collection { return lhs.collection.lexicographicallyPrecedes(rhs.collection) }
        return lhs.sortKey.lexicographicallyPrecedes(rhs.sortKey)
    }
}

/// One write of a command: a put (`value` set) or a delete (`value` nil), under a condition.
public struct ItemWrite: Hashable, Sendable {
    public var key: ItemKey
    public var value: [UInt8]?
    public var condition: WriteCondition

    public init(key: ItemKey, value: [UInt8]?, condition: WriteCondition = .none) {
        self.key = key
        self.value = value
        self.condition = condition
    }
}

/// A client's request as it travels through a cell's log: one or more writes,
/// applied all or none, or one queue operation. Conditions are decided when
/// the entry is applied, identically on every replica.
public struct CellCommand: Hashable, Sendable {
    public enum Body: Hashable, Sendable {
        case writes([ItemWrite])
        /// An operation on the queue whose collection is `queue`; `nowMilliseconds`
        /// is the proposing leader's clock (milliseconds since 1970), which judges leases.
        case queue(queue: [UInt8], operation: QueueOperation, nowMilliseconds: UInt64)
    }

    public static let writesMaximum = 100

    /// Identifies a retried request, so that the cell applies it once.
    public var clientID: UInt64
    public var sequence: UInt64
    /// Every sequence of this client below this one is finished (answered or
    /// abandoned): the cell may forget their results.
    public var acknowledgedBelow: UInt64
    public var body: Body

    public init(clientID: UInt64, sequence: UInt64, acknowledgedBelow: UInt64, body: Body) {
        self.clientID = clientID
        self.sequence = sequence
        self.acknowledgedBelow = acknowledgedBelow
        self.body = body
    }

    public init(clientID: UInt64, sequence: UInt64, acknowledgedBelow: UInt64, writes: [ItemWrite]) {
        self.init(clientID: clientID, sequence: sequence, acknowledgedBelow: acknowledgedBelow, body: .writes(writes))
    }

    /// The item writes (none for a queue operation).
    public var writes: [ItemWrite] {
        if case .writes(let writes) = body { writes } else { [] }
    }

    /// `u64 client | u64 sequence | u64 acknowledgedBelow | u16 count | writes`, little-endian;
    /// a write is `blob collection | blob sortKey | u8 hasValue | [blob value] | condition`,
    /// a blob is `u32 length | bytes`, a condition is `u8 kind | [u64 version | blob value]`.
    /// A queue operation has a count of 0, then `blob queue | u64 now | operation`.
    public func encoded() -> [UInt8] {
        var writer = CommandWriter()
        writer.append(clientID)
        writer.append(sequence)
        writer.append(acknowledgedBelow)
        if case .queue(let queue, let operation, let now) = body {
            writer.append(UInt16(0))
            writer.appendBlob(queue)
            writer.append(now)
            operation.encode(into: &writer)
            return writer.bytes
        }
        writer.append(UInt16(writes.count))
        for write in writes {
            writer.appendBlob(write.key.collection)
            writer.appendBlob(write.key.sortKey)
            if let value = write.value {
                writer.bytes.append(1)
                writer.appendBlob(value)
            } else {
                writer.bytes.append(0)
            }
            switch write.condition {
            case .none: writer.bytes.append(0)
            case .absent: writer.bytes.append(1)
            case .exists: writer.bytes.append(2)
            case .versionEquals(let version):
                writer.bytes.append(3)
                writer.append(version)
            case .valueEquals(let value):
                writer.bytes.append(4)
                writer.appendBlob(value)
            }
        }
        return writer.bytes
    }

    public struct DecodingError: Error, Hashable {
        public let reason: String
        public init(reason: String) { self.reason = reason }
    }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        var reader = CommandReader(bytes: bytes)
        clientID = try reader.read(UInt64.self)
        sequence = try reader.read(UInt64.self)
        acknowledgedBelow = try reader.read(UInt64.self)
        let count = Int(try reader.read(UInt16.self))
        if count == 0 {
            let queue = try reader.readBlob()
            let now = try reader.read(UInt64.self)
            body = .queue(queue: queue, operation: try .decode(from: &reader), nowMilliseconds: now)
            guard reader.isAtEnd else { throw DecodingError(reason: "trailing bytes after command") }
            return
        }
        guard (1...Self.writesMaximum).contains(count) else {
            throw DecodingError(reason: "a command holds 1 to \(Self.writesMaximum) writes, not \(count)")
        }
        var writes: [ItemWrite] = []
        writes.reserveCapacity(count)
        for _ in 0..<count {
            let key = ItemKey(collection: try reader.readBlob(), sortKey: try reader.readBlob())
            let value: [UInt8]?
            switch try reader.read(UInt8.self) {
            case 0: value = nil
            case 1: value = try reader.readBlob()
            case let flag: throw DecodingError(reason: "value flag \(flag) is neither 0 nor 1")
            }
            let condition: WriteCondition
            switch try reader.read(UInt8.self) {
            case 0: condition = .none
            case 1: condition = .absent
            case 2: condition = .exists
            case 3: condition = .versionEquals(try reader.read(UInt64.self))
            case 4: condition = .valueEquals(try reader.readBlob())
            case let kind: throw DecodingError(reason: "unknown condition kind \(kind)")
            }
            writes.append(ItemWrite(key: key, value: value, condition: condition))
        }
        body = .writes(writes)
        guard reader.isAtEnd else { throw DecodingError(reason: "trailing bytes after command") }
    }
}

/// What applying a command did.
public enum CellCommandResult: Hashable, Sendable {
    /// Applied; every written item's version is now the entry's log index.
    case applied(version: LogIndex)
    /// The condition of write number `write` did not hold; nothing changed.
    case conditionFailed(write: Int, currentVersion: LogIndex?)
    /// A retry that arrived after the client declared the request finished:
    /// its result is forgotten and it was not applied again.
    case expired
    /// What a queue operation did.
    case queue(QueueOutcome)
}

/// Little-endian writer for the cell's binary formats (commands, snapshots).
struct CommandWriter {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func appendBlob(_ blob: [UInt8]) {
        append(UInt32(blob.count))
        bytes.append(contentsOf: blob)
    }
}

/// Bounds-checked little-endian reader for the cell's binary formats.
struct CommandReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(CellCommand.DecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw .init(reason: "truncated: \(T.self) at byte \(offset)") }
        var value: T = 0
        for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    mutating func readBlob() throws(CellCommand.DecodingError) -> [UInt8] {
        let count = Int(try read(UInt32.self))
        guard count <= bytes.count - offset else { throw .init(reason: "truncated: \(count)-byte field at byte \(offset)") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
}
