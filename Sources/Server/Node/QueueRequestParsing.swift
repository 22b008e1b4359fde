import Cell
import Keyspace
import Wire

/// Queue requests turned into what a queue's cell executes. A queue is one
/// `lnr` key without a sort key: its entries are ordered by sequence number,
/// which takes the place sort keys have in a table.
extension ClusterLayout {
    func parseQueue(_ body: ClientRequest.Body, nowMilliseconds: UInt64) -> Result<ParsedRequest, ParseFailure> {
        switch body {
        case .queueWrite(let clientID, let sequence, let acknowledgedBelow, let text, let operation):
            let key: Key
            switch Self.queueKey(text) {
            case .failure(let failure): return .failure(failure)
            case .success(let parsed): key = parsed
            }
            if let refusal = Self.refusal(of: operation) { return .failure(ParseFailure(refusal)) }
            let command = CellCommand(
                clientID: clientID, sequence: sequence, acknowledgedBelow: acknowledgedBelow,
                body: .queue(queue: key.canonicalCollectionBytes, operation: operation, nowMilliseconds: nowMilliseconds))
            var units = 1
            if case .append(let payload, _) = operation { units = max(1, (payload.count + 1023) / 1024) }
            return .success(ParsedRequest(operation: .write(command), cell: cell(of: key), account: key.account,
                                          accounts: [key.account], units: units))
        case .queueRead(let text, let from, let maximum, let consistency):
            guard (1...UInt32(QueueLimits.readCountMaximum)).contains(maximum) else {
                return .failure(ParseFailure("--max \(maximum) is out of range: use 1 to \(QueueLimits.readCountMaximum)"))
            }
            if from == 0 { return .failure(ParseFailure("sequence 0 does not exist: sequence numbers start at 1")) }
            return queueRead(text, consistency) { .queueEntries(queue: $0, name: text, from: from, maximum: Int(maximum)) }
        case .queueStatus(let text, let consistency):
            return queueRead(text, consistency) { .queueStatus(queue: $0, name: text) }
        case .queuePosition(let text, let group, let consistency):
            if let refusal = QueueLimits.refusal(ofName: group, as: "consumer group") { return .failure(ParseFailure(refusal)) }
            return queueRead(text, consistency) { .queuePosition(queue: $0, name: text, group: group) }
        default:
            return .failure(ParseFailure("not a queue request"))
        }
    }

    private func queueRead(_ text: String, _ consistency: ReadConsistency, _ read: ([UInt8]) -> CellRead)
        -> Result<ParsedRequest, ParseFailure>
    {
        Self.queueKey(text).map { key in
            ParsedRequest(operation: .read(read(key.canonicalCollectionBytes), consistency: consistency), cell: cell(of: key),
                          account: key.account, accounts: [key.account], units: 1)
        }
    }

    static func queueKey(_ text: String) -> Result<Key, ParseFailure> {
        let key: Key
        do { key = try Key(parsing: text) } catch { return .failure(ParseFailure("queue key: \(error)")) }
        guard key.type == .lnr else {
            return .failure(ParseFailure("queue key: \(text) is of type \(key.type.rawValue); a queue's key has type lnr (account/resource/lnr/name)"))
        }
        guard key.sortKey.isEmpty else {
            return .failure(ParseFailure("queue key: \(text) has a sort key; a queue is named by account/resource/lnr/name, and its entries are ordered by sequence number"))
        }
        return .success(key)
    }

    static func refusal(of operation: QueueOperation) -> String? {
        switch operation {
        case .append(let payload, let leader):
            if payload.count > QueueLimits.payloadBytesMaximum {
                return "payload is \(payload.count) bytes; the limit is \(QueueLimits.payloadBytesMaximum) (1 MiB)"
            }
            return leader.flatMap { QueueLimits.refusal(ofName: $0, as: "leader") }
        case .setLeader(let leader, let expected):
            return QueueLimits.refusal(ofName: leader, as: "leader") ?? expected.flatMap { QueueLimits.refusal(ofName: $0, as: "expected leader") }
        case .takeLease(let holder, let milliseconds), .renewLease(let holder, let milliseconds):
            if let refusal = QueueLimits.refusal(ofName: holder, as: "lease holder") { return refusal }
            guard (1...QueueLimits.leaseSecondsMaximum * 1_000).contains(milliseconds) else {
                return "a lease lasts 1 ms to \(QueueLimits.leaseSecondsMaximum) s, not \(milliseconds) ms"
            }
            return nil
        case .trim(let through):
            return through == 0 ? "trim through 0 trims nothing: sequence numbers start at 1" : nil
        case .commit(let group, let sequence):
            if let refusal = QueueLimits.refusal(ofName: group, as: "consumer group") { return refusal }
            return sequence == 0 ? "position 0 is before the first entry: sequence numbers start at 1" : nil
        }
    }
}
