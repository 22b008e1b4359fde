import ArgumentParser
import Storage

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print the value stored under a key in a local data directory.",
        discussion: """
            Writes the value's raw bytes to standard output, with no newline added, so
            that binary values survive a redirect. A missing item exits with status 1.
            With --json, prints {"key", "sortKey", "version", "value"}; a value that is
            not UTF-8 is null there, with its bytes in "valueBase64".

            Examples:
              tessera get acme/users/rnd/alice/v1
              tessera get acme/users/rnd/bob --json
              tessera get acme/users/rnd/bob > photo.jpg
            """
    )

    @Argument(help: "The key, as account/resource/rnd/primaryKey[/sortKey].")
    var key: String

    @OptionGroup var dataDirectory: DataDirectoryOptions

    @Flag(help: "Print JSON instead of the raw value.")
    var json = false

    func run() async throws {
        let parsed = try LocalStore.parseKey(key)
        let item = try await LocalStore.with(dataDirectory, creating: false) { store in
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
