import Cell
#if canImport(Glibc)
import Glibc
#endif
import Keyspace
import Wire

/// One entry of a queue.
public struct QueueRecord: Sendable, Hashable {
    public var sequence: UInt64
    public var payload: [UInt8]
}

/// A page of a queue's entries, with where the queue stands.
public struct QueuePage: Sendable, Hashable {
    public var entries: [QueueRecord]
    /// The first sequence still readable (earlier entries are trimmed).
    public var firstAvailable: UInt64
    /// The last sequence appended (0: none yet).
    public var lastSequence: UInt64
}

/// A queue's lease: who holds it, until when (milliseconds since 1970 on the cell leader's clock).
public struct QueueLease: Sendable, Hashable {
    public var holder: String
    public var deadlineMilliseconds: UInt64
}

/// What `set-leader` found.
public enum QueueLeaderChange: Sendable, Hashable {
    /// The leader is now the one asked for; `previous` was it before.
    case set(previous: String?)
    /// The expected leader was not the leader: `current` is; nothing changed.
    case mismatch(current: String?)
}

/// How a queue operation was refused (``TesseraClientError/queue(_:_:)``).
public enum QueueFailure: String, Sendable, Equatable {
    /// No entry was ever appended to the queue, nor a leader or lease set.
    case unknownQueue = "unknown queue"
    /// The entries asked for were trimmed.
    case trimmed = "trimmed"
    /// The append named a leader that is not the queue's, or whose lease ran out: nothing was appended.
    case fenced = "fenced"
    /// Another holder's lease still runs.
    case leaseHeld = "lease held"
    /// The renewal came after the lease ran out, or from one who does not hold it.
    case leaseExpired = "lease expired"
    /// A sequence number past the queue's last one.
    case badSequence = "bad sequence"
}

/// Queues (`account/resource/lnr/name`): appends fenced by a leader, reads by
/// sequence number, leases, trims and consumer positions. Every mutating call
/// is applied once, like a write, however often it is retried.
extension TesseraClient {
    /// Appends `payload` (at most 1 MiB); returns its sequence number. With
    /// `leader`, the append is refused (``QueueFailure/fenced``) unless `leader`
    /// is the queue's leader and, if it holds the lease, its lease still runs.
    public func append(_ queue: Key, payload: [UInt8], leader: String? = nil) async throws -> UInt64 {
        let operation = "append to \(abbreviated(queue.text))"
        guard payload.count <= QueueLimits.payloadBytesMaximum else {
            throw TesseraClientError.badRequest("\(operation): the payload is \(payload.count) bytes; the limit is \(QueueLimits.payloadBytesMaximum) (1 MiB)")
        }
        switch try await queueWrite(queue, .append(payload: payload, leader: leader), operation) {
        case .appended(let sequence): return sequence
        case .fenced(let current, let deadline?):
            throw TesseraClientError.queue(.fenced, "\(operation): the lease of leader \(current ?? "?") ran out at \(Self.timeText(deadline)); take it again before writing")
        case .fenced(let current, nil):
            throw TesseraClientError.queue(.fenced, "\(operation): the queue's leader is \(current ?? "nobody (none was set)"), not \(leader ?? "?")")
        case let other: throw Self.unexpected(other, operation)
        }
    }

    /// Makes `leader` the queue's leader; with `expected`, only if that is the leader now.
    public func setQueueLeader(_ queue: Key, to leader: String, expected: String? = nil) async throws -> QueueLeaderChange {
        switch try await queueWrite(queue, .setLeader(leader, expected: expected), "set the leader of \(abbreviated(queue.text))") {
        case .leaderSet(let previous): return .set(previous: previous)
        case .leaderMismatch(let current): return .mismatch(current: current)
        case let other: throw Self.unexpected(other, "set-leader")
        }
    }

    /// Takes the lease for `holder` for `seconds`, unless another holder's lease still runs.
    public func takeQueueLease(_ queue: Key, holder: String, seconds: Double) async throws -> QueueLease {
        try await lease(queue, .takeLease(holder: holder, milliseconds: Self.milliseconds(seconds)), holder, "take the lease of \(abbreviated(queue.text))")
    }

    /// Extends `holder`'s running lease to `seconds` from now.
    public func renewQueueLease(_ queue: Key, holder: String, seconds: Double) async throws -> QueueLease {
        try await lease(queue, .renewLease(holder: holder, milliseconds: Self.milliseconds(seconds)), holder, "renew the lease of \(abbreviated(queue.text))")
    }

    /// Forgets every entry through `sequence`; returns the trim point.
    public func trimQueue(_ queue: Key, through sequence: UInt64) async throws -> UInt64 {
        let operation = "trim \(abbreviated(queue.text)) through \(sequence)"
        switch try await queueWrite(queue, .trim(through: sequence), operation) {
        case .trimmed(let through): return through
        case let other: throw Self.unexpected(other, operation)
        }
    }

    /// Records that consumer group `group` has consumed every entry through `sequence`.
    public func commitQueuePosition(_ queue: Key, group: String, sequence: UInt64) async throws {
        let operation = "commit \(group)'s position in \(abbreviated(queue.text))"
        switch try await queueWrite(queue, .commit(group: group, sequence: sequence), operation) {
        case .committed: return
        case let other: throw Self.unexpected(other, operation)
        }
    }

    /// Entries from `from` (the first still readable when nil), at most
    /// `maximum` (and about 4 MiB). With `wait`, an empty answer is asked
    /// again until an entry arrives or `wait` has passed.
    public func readQueue(_ queue: Key, from: UInt64? = nil, maximum: Int = 100, wait: Duration = .zero,
                          consistency: ReadConsistency = .strong) async throws -> QueuePage {
        let operation = "read \(abbreviated(queue.text))"
        let text = try Self.queueText(queue, operation)
        guard (1...QueueLimits.readCountMaximum).contains(maximum) else {
            throw TesseraClientError.badRequest("\(operation): at most 1 to \(QueueLimits.readCountMaximum) entries per read, not \(maximum)")
        }
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        var pause = Duration.milliseconds(10)
        while true {
            let page: QueuePage = try await perform(
                operation, pointer: queue.pointer, route: consistency == .strong ? .strongRead : .eventualRead,
                body: { .queueRead(queue: text, from: from, maximum: UInt32(maximum), consistency: consistency) },
                decode: { answer -> Decoded<QueuePage> in
                    guard case .queueEntries(let page) = answer else { return .unexpected }
                    return .value(QueuePage(entries: page.entries.map { QueueRecord(sequence: $0.sequence, payload: $0.payload) },
                                            firstAvailable: page.firstAvailable, lastSequence: page.lastSequence))
                })
            let remaining = deadline - clock.now
            guard page.entries.isEmpty, remaining > .zero else { return page }
            try await Task.sleep(for: min(pause, remaining))
            pause = min(pause * 2, .milliseconds(200))
        }
    }

    /// The queue's last sequence, trim point, leader and lease.
    public func queueStatus(_ queue: Key, consistency: ReadConsistency = .strong) async throws -> WireQueueStatus {
        let operation = "status of \(abbreviated(queue.text))"
        let text = try Self.queueText(queue, operation)
        return try await perform(
            operation, pointer: queue.pointer, route: consistency == .strong ? .strongRead : .eventualRead,
            body: { .queueStatus(queue: text, consistency: consistency) },
            decode: { answer in if case .queueStatus(let status) = answer { .value(status) } else { .unexpected } })
    }

    /// Where consumer group `group` stands (nil: it never committed).
    public func queuePosition(_ queue: Key, group: String, consistency: ReadConsistency = .strong) async throws -> UInt64? {
        let operation = "position of \(group) in \(abbreviated(queue.text))"
        let text = try Self.queueText(queue, operation)
        return try await perform(
            operation, pointer: queue.pointer, route: consistency == .strong ? .strongRead : .eventualRead,
            body: { .queuePosition(queue: text, group: group, consistency: consistency) },
            decode: { answer in if case .queuePosition(let position) = answer { .value(position) } else { .unexpected } })
    }

    // MARK: - Helpers

    private func lease(_ queue: Key, _ change: QueueOperation, _ asker: String, _ operation: String) async throws -> QueueLease {
        switch try await queueWrite(queue, change, operation) {
        case .leaseGranted(let holder, let deadline): return QueueLease(holder: holder, deadlineMilliseconds: deadline)
        case .leaseHeld(let holder, let deadline):
            throw TesseraClientError.queue(.leaseHeld, "\(operation): \(holder) holds the lease until \(Self.timeText(deadline))")
        case .leaseExpired(let holder?, let deadline) where holder == asker:
            throw TesseraClientError.queue(.leaseExpired, "\(operation): \(holder)'s lease ran out at \(Self.timeText(deadline)); take it again")
        case .leaseExpired(let holder, let deadline):
            let current = holder.map { "the lease is \($0)'s (until \(Self.timeText(deadline)))" } ?? "nobody holds the lease"
            throw TesseraClientError.queue(.leaseExpired, "\(operation): \(current), not \(asker)'s; take it first")
        case let other: throw Self.unexpected(other, operation)
        }
    }

    private func queueWrite(_ queue: Key, _ change: QueueOperation, _ operation: String) async throws -> QueueOutcome {
        let text = try Self.queueText(queue, operation)
        let sequence = sequences.begin()
        defer { sequences.finish(sequence) }
        let clientID = self.clientID
        let sequences = self.sequences
        let outcome: QueueOutcome = try await perform(
            operation, pointer: queue.pointer, route: .write,
            body: {
                .queueWrite(clientID: clientID, sequence: sequence, acknowledgedBelow: sequences.acknowledgedBelow,
                            queue: text, operation: change)
            },
            decode: { answer in if case .queueOutcome(let outcome) = answer { .value(outcome) } else { .unexpected } })
        switch outcome {
        case .unknownQueue:
            throw TesseraClientError.queue(.unknownQueue, "\(operation): queue \(queue.text) does not exist: nothing was ever appended to it")
        case .badSequence(let sequence, let last):
            throw TesseraClientError.queue(.badSequence, "\(operation): sequence \(sequence) is past the queue's last, \(last)")
        default:
            return outcome
        }
    }

    static func queueText(_ queue: Key, _ operation: String) throws(TesseraClientError) -> String {
        guard queue.type == .lnr, queue.sortKey.isEmpty else {
            throw .badRequest("\(operation): \(queue.text) is not a queue key; a queue is named account/resource/lnr/name (type lnr, no sort key)")
        }
        return queue.text
    }

    static func milliseconds(_ seconds: Double) -> UInt64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return UInt64(min(seconds * 1_000, Double(UInt64.max / 2)).rounded(.up))
    }

    static func unexpected(_ outcome: QueueOutcome, _ operation: String) -> TesseraClientError {
        .protocolError("\(operation): the node answered \(outcome), which this operation cannot produce")
    }

    /// A deadline as people read it: UTC, to the millisecond.
    public static func timeText(_ milliseconds: UInt64) -> String {
        let seconds = Int(milliseconds / 1_000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(Int(parts.tm_year) + 1900, 4))-\(padded(Int(parts.tm_mon) + 1, 2))-\(padded(Int(parts.tm_mday), 2))T"
            + "\(padded(Int(parts.tm_hour), 2)):\(padded(Int(parts.tm_min), 2)):\(padded(Int(parts.tm_sec), 2)).\(padded(Int(milliseconds % 1_000), 3))Z"
    }
}
