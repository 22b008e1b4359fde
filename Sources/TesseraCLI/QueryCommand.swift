import ArgumentParser
import CommandSupport
import Keyspace
import Storage

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "List the items of one primary key, by sort key, from a cluster or a local data directory.",
        discussion: """
            Prints one line per item: sortKey<TAB>version<TAB>value. Sort keys are
            written as in keys (%XX escapes); in values, tab, newline, carriage return
            and '\\' are written \\t, \\n, \\r and \\\\, other control characters and
            bytes that are not UTF-8 \\xHH. --from and --to bound the sort keys (both
            inclusive, bytewise order). When more items match than --limit, standard
            error ends with 'next: <token>': pass the token to --after for the next
            page. --json prints {"items": [...], "continuation": token|null}. Without
            --data-dir it asks the cluster at --endpoint (default: the `tessera dev`
            cluster); a page may then hold fewer than --limit items with more to come.

            Examples:
              tessera query acme/orders/rnd/alice
              tessera query acme/orders/rnd/alice --from 2024-01 --to 2024-06 --reverse
              tessera query acme/orders/rnd/alice --limit 50 --after k323032342d3036
              tessera query acme/orders/rnd/alice --consistency eventual
              tessera query acme/orders/rnd/alice --data-dir .tessera/local
            """
    )

    @Argument(help: "The item collection, as account/resource/rnd/primaryKey (no sort key).")
    var key: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var consistency: ConsistencyOption

    @Option(help: ArgumentHelp("The lowest sort key to return (inclusive).", valueName: "sortKey"))
    var from: String?

    @Option(help: ArgumentHelp("The highest sort key to return (inclusive).", valueName: "sortKey"))
    var to: String?

    @Option(help: "At most this many items (1...\(QueryRange.limitMaximum)).")
    var limit: Int = 1_000

    @Flag(help: "Highest sort key first.")
    var reverse = false

    @Option(help: ArgumentHelp("Continue after the page that printed this 'next:' token.", valueName: "token"))
    var after: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        guard (1...QueryRange.limitMaximum).contains(limit) else {
            throw ValidationError("--limit must be between 1 and \(QueryRange.limitMaximum), got \(limit)")
        }
    }

    func run() async throws {
        let collection = try LocalStore.parseKey(key)
        guard collection.sortKey.isEmpty else {
            throw commandFailure(
                "query takes account/resource/type/primaryKey without a sort key (got sort key \"\(collection.sortKeyText)\"); "
                    + "bound the sort keys with --from and --to",
                status: ExitStatus.badInput)
        }
        let range = QueryRange(
            from: try from.map { try sortKey($0, flag: "--from", in: collection) },
            to: try to.map { try sortKey($0, flag: "--to", in: collection) },
            reverse: reverse, limit: limit,
            continuation: try after.map { text in
                do { return try ContinuationToken(text: text) } catch { throw LocalStore.failure(error) }
            })
        let page = try await store.with(creating: false, consistency: consistency.consistency) { store in
            try await store.query(collection, range)
        }
        let items = page.items.map { ItemJSON(collection: collection, item: $0) }
        if json {
            writeStandardOutput(encodeJSON(PageJSON(items: items, continuation: page.continuation?.description)) + "\n")
            return
        }
        var text = ""
        for item in items { text += "\(item.sortKey)\t\(item.version)\t\(escapedForLine(item.value))\n" }
        writeStandardOutput(text)
        if let next = page.continuation { printToStandardError("next: \(next)") }
    }

    /// A sort key written as in keys: percent-escaped, '/' as %2F.
    private func sortKey(_ text: String, flag: String, in collection: Key) throws -> [UInt8] {
        do {
            return try Key(parsing: collection.text + "/" + text).sortKey
        } catch {
            throw commandFailure("\(flag) \(text): \(error.description)", status: ExitStatus.badInput)
        }
    }
}

/// `{"items":[...],"continuation":token|null}`
private struct PageJSON: Encodable {
    let items: [ItemJSON]
    let continuation: String?

    enum CodingKeys: String, CodingKey { case items, continuation }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(continuation, forKey: .continuation)
    }
}
