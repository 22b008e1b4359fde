import Cell
import Keyspace
import Wire

/// A client request turned into what a cell executes, or the reason it is refused.
struct ParsedRequest {
    enum Operation {
        case write(CellCommand)
        case read(CellRead, consistency: ReadConsistency)
    }

    var operation: Operation
    var cell: UInt64
    /// Whose budget it is charged to: the first key's account.
    var account: String
    /// Every account the request's keys name (a cell may hold keys of several), each checked against the grants.
    var accounts: [String]
    /// What it costs (see ``AccountRates``).
    var units: Int
}

/// What one write request may carry. The store keeps a log entry (keys, values and
/// framing) in one item of at most 400 KiB, so a value may take 384 KiB and the
/// request 392 KiB: a value at the limit always fits with the longest key, whose
/// collection is stored in its canonical text (every byte of a 2,048-byte primary
/// key may be escaped as %XX) and its sort key raw: at most 7,493 bytes.
public enum ClusterLimits {
    public static let valueBytesMaximum = 384 << 10
    /// Keys (as stored), values and expected values of one write request together.
    public static let requestBytesMaximum = valueBytesMaximum + (8 << 10)
}

extension ClusterLayout {
    func parse(_ body: ClientRequest.Body) -> Result<ParsedRequest, ParseFailure> {
        switch body {
        case .write(let clientID, let sequence, let acknowledgedBelow, let writes):
            guard (1...CellCommand.writesMaximum).contains(writes.count) else {
                return .failure(ParseFailure("a write request holds 1 to \(CellCommand.writesMaximum) writes, not \(writes.count)"))
            }
            var items: [ItemWrite] = []
            var cell: UInt64?
            var firstKey = ""
            var account = ""
            var accounts: [String] = []
            var bytes = 0
            for (number, write) in writes.enumerated() {
                let key: Key
                do { key = try Key(parsing: write.key) } catch { return .failure(ParseFailure("write #\(number + 1): \(error)")) }
                if let refusal = Self.refusalOfQueueKey(key) { return .failure(ParseFailure("write #\(number + 1): \(refusal)")) }
                let keyCell = self.cell(of: key)
                if let cell, cell != keyCell {
                    return .failure(ParseFailure("write #\(number + 1): key \(write.key) is in another cell than \(firstKey); a request's keys must share a cell (one primary key always does)"))
                }
                if cell == nil {
                    firstKey = write.key
                    account = key.account
                }
                cell = keyCell
                if !accounts.contains(key.account) { accounts.append(key.account) }
                if let value = write.value, value.count > ClusterLimits.valueBytesMaximum {
                    return .failure(ParseFailure("write #\(number + 1): value is \(value.count) bytes; the limit is \(ClusterLimits.valueBytesMaximum)"))
                }
                let condition = write.condition
                if case .valueEquals(let expected) = condition { bytes += expected.count }
                bytes += key.canonicalCollectionBytes.count + key.sortKey.count + (write.value?.count ?? 0)
                items.append(ItemWrite(key: ItemKey(collection: key.canonicalCollectionBytes, sortKey: key.sortKey),
                                       value: write.value, condition: condition))
            }
            guard bytes <= ClusterLimits.requestBytesMaximum else {
                return .failure(ParseFailure("the request's keys and values take \(bytes) bytes; the limit is \(ClusterLimits.requestBytesMaximum)"))
            }
            let command = CellCommand(clientID: clientID, sequence: sequence, acknowledgedBelow: acknowledgedBelow, writes: items)
            return .success(ParsedRequest(operation: .write(command), cell: cell!, account: account,
                                          accounts: accounts, units: max(1, (bytes + 1023) / 1024)))
        case .get(let text, let consistency):
            let key: Key
            do { key = try Key(parsing: text) } catch { return .failure(ParseFailure("key: \(error)")) }
            if let refusal = Self.refusalOfQueueKey(key) { return .failure(ParseFailure("key: \(refusal)")) }
            let item = ItemKey(collection: key.canonicalCollectionBytes, sortKey: key.sortKey)
            return .success(ParsedRequest(operation: .read(.get(item), consistency: consistency), cell: cell(of: key),
                                          account: key.account, accounts: [key.account], units: 1))
        case .query(let text, let from, let to, let reverse, let limit, let after, let consistency):
            let key: Key
            do { key = try Key(parsing: text) } catch { return .failure(ParseFailure("collection: \(error)")) }
            if let refusal = Self.refusalOfQueueKey(key) { return .failure(ParseFailure("collection: \(refusal)")) }
            guard key.sortKey.isEmpty else {
                return .failure(ParseFailure("collection: \(text) has a sort key; a query names a collection (account/resource/type/primaryKey)"))
            }
            guard (1...10_000).contains(limit) else { return .failure(ParseFailure("limit \(limit) is out of range: use 1 to 10000")) }
            let read = CellRead.query(collection: key.canonicalCollectionBytes, from: from, to: to, reverse: reverse,
                                      limit: Int(limit), after: after)
            return .success(ParsedRequest(operation: .read(read, consistency: consistency), cell: cell(of: key),
                                          account: key.account, accounts: [key.account], units: 1))
        case .clusterInfo, .nodeStatus, .whoAmI, .createAccessKey, .listAccessKeys, .revokeAccessKey,
             .deployProgram, .invokeProgram, .listPrograms, .removeProgram, .queueWrite, .queueRead, .queueStatus, .queuePosition:
            return .failure(ParseFailure("not an item request"))
        }
    }

    /// Items are `rnd`: an `lnr` key names a queue, reached through the queue operations.
    static func refusalOfQueueKey(_ key: Key) -> String? {
        key.type == .lnr ? "\(key.text) is a queue (type lnr): use the queue operations (tessera queue), not item reads and writes" : nil
    }
}

struct ParseFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
