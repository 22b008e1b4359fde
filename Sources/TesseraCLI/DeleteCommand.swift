import ArgumentParser
import Storage

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an item from a local data directory, durably.",
        discussion: """
            Prints the version of the deletion (the write's sequence number; a later
            put of the same key gets a higher version). Deleting an item that does not
            exist succeeds unless a condition says otherwise. With a condition that
            does not hold nothing changes and the exit status is 2.

            Examples:
              tessera delete acme/users/rnd/alice/v1
              tessera delete acme/users/rnd/alice/v1 --if-version 7 --json
            """
    )

    @Argument(help: "The key, as account/resource/rnd/primaryKey[/sortKey].")
    var key: String

    @OptionGroup var dataDirectory: DataDirectoryOptions
    @OptionGroup var conditions: ConditionOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let parsed = try LocalStore.parseKey(key)
        let outcome = try await LocalStore.with(dataDirectory, creating: false) { store in
            try await store.delete(parsed, condition: conditions.condition)
        }
        try reportWrite(outcome, json: json)
    }
}
