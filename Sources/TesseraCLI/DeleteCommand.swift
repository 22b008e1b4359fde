import ArgumentParser
import Storage

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an item, durably: from a cluster, or from a local data directory.",
        discussion: """
            Prints the version of the deletion (the write's sequence number; a later
            put of the same key gets a higher version). Deleting an item that does not
            exist succeeds unless a condition says otherwise. With a condition that
            does not hold nothing changes and the exit status is 2. Without --data-dir
            it goes to the cluster at --endpoint (default: the `tessera dev` cluster).

            Examples:
              tessera delete acme/users/rnd/alice/v1
              tessera delete acme/users/rnd/alice/v1 --if-version 7 --json
              tessera delete acme/users/rnd/alice/v1 --data-dir .tessera/local
            """
    )

    @Argument(help: "The key, as account/resource/rnd/primaryKey[/sortKey].")
    var key: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var conditions: ConditionOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let parsed = try LocalStore.parseKey(key)
        let outcome = try await store.with(creating: false, isWrite: true) { store in
            try await store.delete(parsed, condition: conditions.condition)
        }
        try reportWrite(outcome, json: json)
    }
}
