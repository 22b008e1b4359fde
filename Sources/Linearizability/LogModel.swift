/// One fenced log per key (a queue that is a linearizable log, MemoryDB-style).
/// Appends take consecutive sequence numbers from 1, so two appends that got the
/// same seq, or a seq that skips ahead, expose a lost or phantom write. An append
/// that names a leader is fenced: it lands only while that writer is the leader.
/// Reads go by seq from above the trim point, which only moves up.
public struct LogModel: SequentialModel {
    public enum Input: Hashable, Sendable {
        /// Fenced when `leader` is non-nil: refused unless it is the current leader.
        case append(String, payload: Int64, leader: String?)
        /// Conditional when `expected` is non-nil: refused unless it is the current leader.
        case setLeader(String, new: String, expected: String?)
        /// At most `max` entries from seq `from` on (from above the trim point).
        case read(String, from: UInt64, max: Int)
        /// The last seq appended, trimmed or not (0 for an empty log).
        case tail(String)
        /// Moves the trim point up to `through` (never down).
        case trim(String, through: UInt64)

        public var key: String {
            switch self {
            case .append(let key, _, _), .setLeader(let key, _, _), .read(let key, _, _), .tail(let key), .trim(let key, _): key
            }
        }
    }

    /// One entry of the log, as a read returns it.
    public struct Entry: Hashable, Sendable {
        public var seq: UInt64
        public var payload: Int64

        public init(seq: UInt64, payload: Int64) {
            self.seq = seq
            self.payload = payload
        }
    }

    /// One enum for all operations, because a history carries a single output type.
    public enum Output: Hashable, Sendable {
        /// An append that landed, with the seq it took.
        case appended(seq: UInt64)
        /// A fenced append refused because its leader was not the current one; changed nothing.
        case fenced(current: String?)
        /// A setLeader that took effect, with the leader it replaced.
        case leaderSet(previous: String?)
        /// A setLeader whose `expected` was not the current leader; changed nothing.
        case leaderMismatch(current: String?)
        /// What a read returned, in seq order.
        case entries([Entry])
        /// A read that started at or below the trim point, with the trim point.
        case trimmed(through: UInt64)
        /// What a tail returned.
        case tail(UInt64)
        /// A trim that took effect, with the trim point after it.
        case trimmedTo(UInt64)
        /// A trim past the last seq; changed nothing.
        case badSequence
    }

    /// A value type of a few words, cheap to copy and hash (the search caches states).
    public struct State: Hashable, Sendable {
        /// Every payload appended, trimmed or not: seq n is `payloads[n - 1]`.
        public var payloads: [Int64]
        /// Entries with seq ≤ this are gone; 0 when nothing was trimmed.
        public var trimmedThrough: UInt64
        public var leader: String?

        public init(payloads: [Int64] = [], trimmedThrough: UInt64 = 0, leader: String? = nil) {
            self.payloads = payloads
            self.trimmedThrough = trimmedThrough
            self.leader = leader
        }

        /// The last seq appended (0 for an empty log).
        public var lastSeq: UInt64 { UInt64(payloads.count) }
    }

    public init() {}

    public func partition(_ input: Input) -> String { input.key }

    public func initialState(for key: String) -> State { State() }

    public func step(_ state: State, _ input: Input, _ output: Output?) -> (legal: Bool, newState: State) {
        switch input {
        case .append(_, let payload, let leader):
            if let leader, leader != state.leader {  // fenced off: refused, whatever the outcome
                switch output {
                case nil: return (true, state)
                case .fenced(let current)?: return (current == state.leader, state)
                default: return (false, state)
                }
            }
            var after = state
            after.payloads.append(payload)
            switch output {
            case nil: return (true, after)
            case .appended(let seq)?: return (seq == after.lastSeq, after)
            default: return (false, state)
            }

        case .setLeader(_, let new, let expected):
            if let expected, expected != state.leader {
                switch output {
                case nil: return (true, state)
                case .leaderMismatch(let current)?: return (current == state.leader, state)
                default: return (false, state)
                }
            }
            var after = state
            after.leader = new
            switch output {
            case nil: return (true, after)
            case .leaderSet(let previous)?: return (previous == state.leader, after)
            default: return (false, state)
            }

        case .read(_, let from, let limit):
            switch output {
            case nil:
                return (true, state)
            case .trimmed(let through)?:
                return (Self.startsTrimmed(state, from: from) && through == state.trimmedThrough, state)
            case .entries(let entries)?:
                return (!Self.startsTrimmed(state, from: from) && Self.isRead(entries, of: state, from: from, limit: limit), state)
            default:
                return (false, state)
            }

        case .tail:
            switch output {
            case nil: return (true, state)
            case .tail(let seq)?: return (seq == state.lastSeq, state)
            default: return (false, state)
            }

        case .trim(_, let through):
            if through > state.lastSeq {
                switch output {
                case nil, .badSequence?: return (true, state)
                default: return (false, state)
                }
            }
            var after = state
            after.trimmedThrough = Swift.max(state.trimmedThrough, through)
            switch output {
            case nil: return (true, after)
            case .trimmedTo(let point)?: return (point == after.trimmedThrough, after)
            default: return (false, state)
            }
        }
    }

    public func mayChangeState(_ input: Input) -> Bool {
        switch input {
        case .read, .tail: false
        case .append, .setLeader, .trim: true
        }
    }

    public func describe(_ input: Input, _ output: Output?) -> String {
        let call: String = switch input {
        case .append(let key, let payload, let leader):
            leader.map { "append(\(key), \(payload), leader: \($0))" } ?? "append(\(key), \(payload))"
        case .setLeader(let key, let new, let expected):
            expected.map { "setLeader(\(key), \(new), expected: \($0))" } ?? "setLeader(\(key), \(new))"
        case .read(let key, let from, let limit): "read(\(key), from: \(from), max: \(limit))"
        case .tail(let key): "tail(\(key))"
        case .trim(let key, let through): "trim(\(key), through: \(through))"
        }
        let result: String = switch output {
        case nil: "?"
        case .appended(let seq)?: "seq \(seq)"
        case .fenced(let current)?: "fenced, leader \(Self.leaderText(current))"
        case .leaderSet(let previous)?: "set, previous \(Self.leaderText(previous))"
        case .leaderMismatch(let current)?: "mismatch, leader \(Self.leaderText(current))"
        case .entries(let entries)?: Self.entriesText(entries)
        case .trimmed(let through)?: "trimmed through \(through)"
        case .tail(let seq)?: "\(seq)"
        case .trimmedTo(let point)?: "trimmed to \(point)"
        case .badSequence?: "bad sequence"
        }
        return "\(call) -> \(result)"
    }

    public func describe(state: State) -> String {
        let log = state.payloads.isEmpty ? "empty" : "\(state.payloads) (seq 1 first)"
        return "\(log), trimmed through \(state.trimmedThrough), leader \(Self.leaderText(state.leader))"
    }

    /// Whether a read from `from` starts at or below the trim point, and so must answer `.trimmed`.
    private static func startsTrimmed(_ state: State, from: UInt64) -> Bool {
        state.trimmedThrough > 0 && from <= state.trimmedThrough
    }

    /// Whether `entries` is exactly what a read from `from` of at most `limit` entries returns in `state`.
    private static func isRead(_ entries: [Entry], of state: State, from: UInt64, limit: Int) -> Bool {
        let first = Swift.max(from, state.trimmedThrough + 1)
        let last = state.lastSeq
        let available: UInt64 = first > last ? 0 : last - first + 1
        let count = limit <= 0 ? 0 : Int(Swift.min(available, UInt64(limit)))
        guard entries.count == count else { return false }
        for (offset, entry) in entries.enumerated() {
            let seq = first + UInt64(offset)
            guard entry.seq == seq, entry.payload == state.payloads[Int(seq - 1)] else { return false }
        }
        return true
    }

    private static func leaderText(_ leader: String?) -> String { leader ?? "none" }

    private static func entriesText(_ entries: [Entry]) -> String {
        let items = entries.map { entry in "\(entry.seq):\(entry.payload)" }
        return "[" + items.joined(separator: ", ") + "]"
    }
}
