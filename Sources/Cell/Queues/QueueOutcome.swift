/// What applying a queue operation did; every replica reaches the same one.
public enum QueueOutcome: Hashable, Sendable {
    case appended(sequence: UInt64)
    /// The append named a leader that is not the queue's (`current`), or whose lease ran out at `leaseDeadlineMilliseconds`.
    case fenced(current: String?, leaseDeadlineMilliseconds: UInt64?)
    /// The leader is now the one asked for; `previous` was it before.
    case leaderSet(previous: String?)
    /// `expected` was not the leader: `current` is; nothing changed.
    case leaderMismatch(current: String?)
    /// `holder` holds the lease until the deadline (milliseconds since 1970, the cell leader's clock).
    case leaseGranted(holder: String, deadlineMilliseconds: UInt64)
    /// Another holder's lease still runs (its deadline plus the clock-drift margin); nothing changed.
    case leaseHeld(holder: String, deadlineMilliseconds: UInt64)
    /// A renewal by a holder whose lease ran out, or who never held it; nothing changed.
    case leaseExpired(holder: String?, deadlineMilliseconds: UInt64)
    /// Entries through `through` are gone.
    case trimmed(through: UInt64)
    case committed(sequence: UInt64)
    /// A sequence number past the queue's last one (`last`); nothing changed.
    case badSequence(sequence: UInt64, last: UInt64)
    /// The queue has never been written; nothing changed.
    case unknownQueue

    func encode(into writer: inout CommandWriter) {
        switch self {
        case .appended(let sequence):
            writer.bytes.append(1)
            writer.append(sequence)
        case .fenced(let current, let deadline):
            writer.bytes.append(2)
            writer.appendOptionalText(current)
            writer.bytes.append(deadline == nil ? 0 : 1)
            if let deadline { writer.append(deadline) }
        case .leaderSet(let previous):
            writer.bytes.append(3)
            writer.appendOptionalText(previous)
        case .leaderMismatch(let current):
            writer.bytes.append(4)
            writer.appendOptionalText(current)
        case .leaseGranted(let holder, let deadline):
            writer.bytes.append(5)
            writer.appendText(holder)
            writer.append(deadline)
        case .leaseHeld(let holder, let deadline):
            writer.bytes.append(6)
            writer.appendText(holder)
            writer.append(deadline)
        case .leaseExpired(let holder, let deadline):
            writer.bytes.append(7)
            writer.appendOptionalText(holder)
            writer.append(deadline)
        case .trimmed(let through):
            writer.bytes.append(8)
            writer.append(through)
        case .committed(let sequence):
            writer.bytes.append(9)
            writer.append(sequence)
        case .badSequence(let sequence, let last):
            writer.bytes.append(10)
            writer.append(sequence)
            writer.append(last)
        case .unknownQueue:
            writer.bytes.append(11)
        }
    }

    static func decode(from reader: inout CommandReader) throws(CellCommand.DecodingError) -> QueueOutcome {
        switch try reader.read(UInt8.self) {
        case 1: return .appended(sequence: try reader.read(UInt64.self))
        case 2:
            let current = try reader.readOptionalText()
            switch try reader.read(UInt8.self) {
            case 0: return .fenced(current: current, leaseDeadlineMilliseconds: nil)
            case 1: return .fenced(current: current, leaseDeadlineMilliseconds: try reader.read(UInt64.self))
            case let flag: throw .init(reason: "deadline flag \(flag) is neither 0 nor 1")
            }
        case 3: return .leaderSet(previous: try reader.readOptionalText())
        case 4: return .leaderMismatch(current: try reader.readOptionalText())
        case 5: return .leaseGranted(holder: try reader.readText(), deadlineMilliseconds: try reader.read(UInt64.self))
        case 6: return .leaseHeld(holder: try reader.readText(), deadlineMilliseconds: try reader.read(UInt64.self))
        case 7: return .leaseExpired(holder: try reader.readOptionalText(), deadlineMilliseconds: try reader.read(UInt64.self))
        case 8: return .trimmed(through: try reader.read(UInt64.self))
        case 9: return .committed(sequence: try reader.read(UInt64.self))
        case 10: return .badSequence(sequence: try reader.read(UInt64.self), last: try reader.read(UInt64.self))
        case 11: return .unknownQueue
        case let kind: throw .init(reason: "unknown queue outcome \(kind)")
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
        guard reader.isAtEnd else { throw .init(reason: "trailing bytes after queue outcome") }
    }
}
