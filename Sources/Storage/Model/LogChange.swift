/// One entry of a replicated log kept in the store's WAL. The store reads only
/// its index; `header` and `body` are the owner's bytes. They are two arrays so
/// that an owner can hand over a payload buffer it already holds (Swift arrays
/// share storage until written), instead of the store keeping a second copy.
public struct StoredLogEntry: Hashable, Sendable {
    public var index: UInt64
    public var header: [UInt8]
    public var body: [UInt8]

    public init(index: UInt64, header: [UInt8], body: [UInt8]) {
        self.index = index
        self.header = header
        self.body = body
    }

    var byteCount: Int { header.count + body.count }
}

/// How a log change shortens a log before its entries are added.
public enum LogTruncation: Hashable, Sendable {
    case none
    /// Entries up to and including this index are dropped (a snapshot covers them).
    case compact(through: UInt64)
    /// Every entry is dropped and the log restarts after this index (a snapshot replaced the log).
    case reset(after: UInt64)
}

/// A change to one replicated log (a cell's consensus log), made durable in the
/// same WAL record as the other changes and item writes of its group commit:
/// first the truncation, then the entries, which replace any entries from the
/// first one's index on, then the owner's state bytes (a hard state).
///
/// Truncating is this record, not a delete per entry, and a record is atomic,
/// so after a crash every log is one that was whole at some record's end:
/// closed under prefix, never with a gap.
public struct LogChange: Hashable, Sendable {
    public var log: UInt64
    public var truncation: LogTruncation
    public var entries: [StoredLogEntry]
    /// Replaces the log's state bytes when set.
    public var state: [UInt8]?

    public init(log: UInt64, truncation: LogTruncation = .none, entries: [StoredLogEntry] = [], state: [UInt8]? = nil) {
        self.log = log
        self.truncation = truncation
        self.entries = entries
        self.state = state
    }

    var isEmpty: Bool { truncation == .none && entries.isEmpty && state == nil }
}

/// A log as the store holds it: the entries after `base` (those up to `base` were truncated), and its state bytes.
public struct StoredLog: Hashable, Sendable {
    public internal(set) var base: UInt64 = 0
    public internal(set) var entries: [StoredLogEntry] = []
    public internal(set) var state: [UInt8]?

    public init() {}

    public var lastIndex: UInt64 { entries.last?.index ?? base }
    var isEmpty: Bool { base == 0 && entries.isEmpty && state == nil }

    /// Why `change` cannot apply to this log, or nil when it can.
    func refusal(of change: LogChange) -> String? {
        var base = self.base
        var last = lastIndex
        switch change.truncation {
        case .none: break
        case .compact(let through):
            if through > base { base = through }
            last = max(last, base)
        case .reset(let after):
            base = after
            last = after
        }
        guard let first = change.entries.first else { return nil }
        if first.index <= base || first.index > last + 1 {
            return "log \(change.log): entries from \(first.index) do not follow a log of \(base + 1)...\(last)"
        }
        for (offset, entry) in change.entries.enumerated() where entry.index != first.index + UInt64(offset) {
            return "log \(change.log): entry \(entry.index) is out of sequence"
        }
        return nil
    }

    /// Applies a change that ``refusal(of:)`` accepted.
    mutating func apply(_ change: LogChange) {
        switch change.truncation {
        case .none: break
        case .compact(let through) where through > base:
            let dropped = entries.prefix { $0.index <= through }.count
            entries.removeFirst(dropped)
            base = through
        case .compact: break
        case .reset(let after):
            entries = []
            base = after
        }
        if let first = change.entries.first {
            let kept = Int(first.index - base - 1)
            if kept < entries.count { entries.removeSubrange(kept...) }
            entries += change.entries
        }
        if let state = change.state { self.state = state }
    }
}
