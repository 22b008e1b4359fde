import ArgumentParser
import CommandSupport
import Storage

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print the value stored under a key, from a cluster or a local data directory.",
        discussion: """
            Writes the value's raw bytes to standard output, with no newline added, so
            that binary values survive a redirect. A missing item exits with status 1.
            With --json, prints {"key", "sortKey", "version", "value"}; a value that is
            not UTF-8 is null there, with its bytes in "valueBase64". Without --data-dir
            it asks the cluster at --endpoint (default: the `tessera dev` cluster);
            --consistency eventual lets any replica answer.

            Examples:
              tessera get acme/users/rnd/alice/v1
              tessera get acme/users/rnd/bob --json
              tessera get acme/users/rnd/bob > photo.jpg
              tessera get acme/users/rnd/alice/v1 --consistency eventual
              tessera get acme/users/rnd/alice/v1 --data-dir .tessera/local
            """
    )

    @Argument(help: "The key, as account/resource/rnd/primaryKey[/sortKey].")
    var key: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var consistency: ConsistencyOption

    @Flag(help: "Print JSON instead of the raw value.")
    var json = false

    func run() async throws {
        let parsed = try LocalStore.parseKey(key)
        let item = try await store.with(creating: false, consistency: consistency.consistency) { store in
            try await store.get(parsed)
        }
        guard let item else { throw commandFailure("not found: \(parsed.text)", status: ExitStatus.notFound) }
        if json {
            writeStandardOutput(encodeJSON(ItemJSON(collection: parsed, item: item)) + "\n")
        } else {
            writeStandardOutput(item.value)
        }
    }
}
