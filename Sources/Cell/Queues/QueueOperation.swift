/// One change to a queue (an `lnr` collection), as it travels through its
/// cell's log. `append` and `setLeader` are MemoryDB's fenced journal; the
/// lease lets one writer of many hold the queue for a while; `commit` keeps a
/// consumer group's position.
public enum QueueOperation: Hashable, Sendable {
    /// Adds `payload` after the last entry. With `leader` set it is fenced: it
    /// applies only while `leader` is the queue's leader (and, when that leader
    /// holds the lease, while the lease lasts).
    case append(payload: [UInt8], leader: String?)
    /// Makes `leader` the queue's leader; with `expected` set, only if the current leader is `expected`.
    case setLeader(String, expected: String?)
    /// Gives the lease to `holder` for `milliseconds` unless another holder's lease still runs.
    case takeLease(holder: String, milliseconds: UInt64)
    /// Extends `holder`'s running lease by `milliseconds` from now.
    case renewLease(holder: String, milliseconds: UInt64)
    /// Forgets every entry through `sequence` (at most the last sequence).
    case trim(through: UInt64)
    /// Records that `group` has consumed every entry through `sequence`.
    case commit(group: String, sequence: UInt64)

    /// Whether the operation may make a queue that does not exist yet.
    var createsQueue: Bool {
        switch self {
        case .append, .setLeader, .takeLease: true
        case .renewLease, .trim, .commit: false
        }
    }

    func encode(into writer: inout CommandWriter) {
        switch self {
        case .append(let payload, let leader):
            writer.bytes.append(1)
            writer.appendBlob(payload)
            writer.appendOptionalText(leader)
        case .setLeader(let leader, let expected):
            writer.bytes.append(2)
            writer.appendText(leader)
            writer.appendOptionalText(expected)
        case .takeLease(let holder, let milliseconds):
            writer.bytes.append(3)
            writer.appendText(holder)
            writer.append(milliseconds)
        case .renewLease(let holder, let milliseconds):
            writer.bytes.append(4)
            writer.appendText(holder)
            writer.append(milliseconds)
        case .trim(let through):
            writer.bytes.append(5)
            writer.append(through)
        case .commit(let group, let sequence):
            writer.bytes.append(6)
            writer.appendText(group)
            writer.append(sequence)
        }
    }

    static func decode(from reader: inout CommandReader) throws(CellCommand.DecodingError) -> QueueOperation {
        switch try reader.read(UInt8.self) {
        case 1: return .append(payload: try reader.readBlob(), leader: try reader.readOptionalText())
        case 2: return .setLeader(try reader.readText(), expected: try reader.readOptionalText())
        case 3: return .takeLease(holder: try reader.readText(), milliseconds: try reader.read(UInt64.self))
        case 4: return .renewLease(holder: try reader.readText(), milliseconds: try reader.read(UInt64.self))
        case 5: return .trim(through: try reader.read(UInt64.self))
        case 6: return .commit(group: try reader.readText(), sequence: try reader.read(UInt64.self))
        case let kind: throw .init(reason: "unknown queue operation \(kind)")
        }
    }

    public func encoded() -> [UInt8] {
        var writer = CommandWriter()
        encode(into: &writer)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(CellCommand.DecodingError) {
        var reader = CommandReader(bytes: bytes)
        self = try Self.decode(from: &reader)
        guard reader.isAtEnd else { throw .init(reason: "trailing bytes after queue operation") }
    }
}

/// The bounds of queues, checked where a request enters a node.
public enum QueueLimits {
    /// One entry's payload.
    public static let payloadBytesMaximum = 1 << 20
    /// A leader, lease holder or consumer group name (UTF-8 bytes).
    public static let nameBytesMaximum = 256
    /// The longest lease one take or renew grants.
    public static let leaseSecondsMaximum: UInt64 = 3_600
    /// Entries one read returns at most, and about how many payload bytes.
    public static let readCountMaximum = 10_000
    public static let readBytesMaximum = 4 << 20
    /// A staged payload is kept in chunks of this many bytes (an item holds at most 400 KiB).
    public static let stagedChunkBytes = 256 << 10

    /// Why `name` cannot be a leader, holder or group, or nil when it can.
    public static func refusal(ofName name: String, as role: String) -> String? {
        if name.isEmpty { return "\(role) is empty" }
        if name.utf8.count > nameBytesMaximum { return "\(role) is \(name.utf8.count) bytes; the limit is \(nameBytesMaximum)" }
        return nil
    }
}

extension CommandWriter {
    mutating func appendText(_ text: String) { appendBlob(Array(text.utf8)) }

    mutating func appendOptionalText(_ text: String?) {
        if let text {
            bytes.append(1)
            appendText(text)
        } else {
            bytes.append(0)
        }
    }
}

extension CommandReader {
    mutating func readText() throws(CellCommand.DecodingError) -> String {
        let bytes = try readBlob()
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .init(reason: "a name is not UTF-8 at byte \(offset)") }
        return text
    }

    mutating func readOptionalText() throws(CellCommand.DecodingError) -> String? {
        switch try read(UInt8.self) {
        case 0: return nil
        case 1: return try readText()
        case let flag: throw .init(reason: "name flag \(flag) is neither 0 nor 1")
        }
    }
}
