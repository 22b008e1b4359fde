/// Where a queue keeps itself among its cell's items: everything lives in the
/// queue's own collection (`account/resource/lnr/name`), told apart by the
/// first byte of the sort key. Clients cannot write `lnr` collections
/// directly, so these sort keys are the queue's alone.
public enum QueueLayout {
    /// The head: last sequence, trim point, leader and lease (``QueueHead``).
    public static let headSortKey: [UInt8] = [0]
    static let positionPrefix: UInt8 = 1
    public static let stagedPrefix: UInt8 = 2
    /// Where a node's own extents are indexed (see the node's lnr store); never replicated.
    public static let extentPrefix: UInt8 = 3

    public static func positionSortKey(group: String) -> [UInt8] { [positionPrefix] + Array(group.utf8) }

    /// One chunk of a staged payload: `2 | u64 sequence (big-endian) | u8 chunk`, so a queue's entries sort by sequence.
    public static func stagedSortKey(sequence: UInt64, chunk: Int) -> [UInt8] {
        [stagedPrefix] + bigEndian(sequence) + [UInt8(chunk)]
    }

    public static func stagedRange(from: UInt64, through: UInt64) -> (from: [UInt8], to: [UInt8]) {
        (stagedSortKey(sequence: from, chunk: 0), stagedSortKey(sequence: through, chunk: 255))
    }

    /// The sequence and chunk of a staged sort key, or nil for any other key.
    public static func staged(_ sortKey: [UInt8]) -> (sequence: UInt64, chunk: Int)? {
        guard sortKey.count == 10, sortKey[0] == stagedPrefix else { return nil }
        return (sequence(in: sortKey, at: 1), Int(sortKey[9]))
    }

    public static func extentSortKey(firstSequence: UInt64) -> [UInt8] { [extentPrefix] + bigEndian(firstSequence) }

    public static func extentFirstSequence(_ sortKey: [UInt8]) -> UInt64? {
        guard sortKey.count == 9, sortKey[0] == extentPrefix else { return nil }
        return sequence(in: sortKey, at: 1)
    }

    public static func chunkCount(payloadBytes: Int) -> Int {
        max(1, (payloadBytes + QueueLimits.stagedChunkBytes - 1) / QueueLimits.stagedChunkBytes)
    }

    /// Payload chunks as staged (at least one, so an empty payload is an entry too).
    public static func chunks(of payload: [UInt8]) -> [ArraySlice<UInt8>] {
        guard !payload.isEmpty else { return [payload[...]] }
        return stride(from: 0, to: payload.count, by: QueueLimits.stagedChunkBytes).map {
            payload[$0..<min($0 + QueueLimits.stagedChunkBytes, payload.count)]
        }
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    static func sequence(in bytes: [UInt8], at offset: Int) -> UInt64 {
        bytes[offset..<offset + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}

/// A queue's replicated head record.
public struct QueueHead: Hashable, Sendable {
    /// The last sequence appended (0: none yet); sequences are dense from 1.
    public var lastSequence: UInt64 = 0
    /// Entries through this are trimmed.
    public var trimmedThrough: UInt64 = 0
    /// The latest clock reading an operation carried: the queue's time never goes back.
    public var clockMilliseconds: UInt64 = 0
    public var leader: String?
    public var leaseHolder: String?
    public var leaseDeadlineMilliseconds: UInt64 = 0
    /// How long after the deadline another holder must wait (clock drift over the lease).
    public var leaseMarginMilliseconds: UInt64 = 0

    public init() {}

    /// The first sequence a reader can have (trimmed entries are gone).
    public var firstAvailable: UInt64 { trimmedThrough + 1 }

    public func encoded() -> [UInt8] {
        var writer = CommandWriter()
        writer.bytes.append(1)
        writer.append(lastSequence)
        writer.append(trimmedThrough)
        writer.append(clockMilliseconds)
        writer.appendOptionalText(leader)
        writer.appendOptionalText(leaseHolder)
        writer.append(leaseDeadlineMilliseconds)
        writer.append(leaseMarginMilliseconds)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(CellCommand.DecodingError) {
        var reader = CommandReader(bytes: bytes)
        let version = try reader.read(UInt8.self)
        guard version == 1 else { throw .init(reason: "queue head format \(version) is not 1") }
        lastSequence = try reader.read(UInt64.self)
        trimmedThrough = try reader.read(UInt64.self)
        clockMilliseconds = try reader.read(UInt64.self)
        leader = try reader.readOptionalText()
        leaseHolder = try reader.readOptionalText()
        leaseDeadlineMilliseconds = try reader.read(UInt64.self)
        leaseMarginMilliseconds = try reader.read(UInt64.self)
        guard reader.isAtEnd else { throw .init(reason: "trailing bytes after queue head") }
        guard trimmedThrough <= lastSequence else {
            throw .init(reason: "queue head trimmed through \(trimmedThrough) past its last sequence \(lastSequence)")
        }
    }
}
