import ArgumentParser
import Storage

struct CasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cas",
        abstract: "Compare-and-swap: replace a value only if it is still the one you expect.",
        discussion: """
            Stores NEW under KEY only if the item's current value is exactly OLD
            (--expected OLD), or only if there is no item yet (--expect-absent); give
            one of the two. The check and the write are one atomic step. Prints the
            new version like `put`. When the item is not as expected nothing changes,
            the item's current version (if it exists) is reported and the exit status
            is 2. NEW may be '-' to read raw bytes from standard input. Without
            --data-dir it goes to the cluster at --endpoint (default: the `tessera dev`
            cluster).

            Examples:
              tessera cas acme/accounts/rnd/carol 200 --expected 100
              tessera cas acme/locks/rnd/nightly-job worker-7 --expect-absent --json
              tessera cas acme/accounts/rnd/carol 9 --expected 8 --data-dir .tessera/local
            """
    )

    @Argument(help: "The key, as account/resource/rnd/primaryKey[/sortKey].")
    var key: String

    @Argument(help: ArgumentHelp("The new value (its UTF-8 bytes), or '-' to read raw bytes from standard input.", valueName: "new"))
    var new: String

    @Option(help: ArgumentHelp("Swap only if the current value is exactly these bytes (UTF-8).", valueName: "old"))
    var expected: String?

    @Flag(name: .customLong("expect-absent"), help: "Swap only if the item does not exist yet.")
    var expectAbsent = false

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        if expected != nil && expectAbsent {
            throw ValidationError("--expected and --expect-absent exclude each other: give one")
        }
        if expected == nil && !expectAbsent {
            throw ValidationError("give the value you expect with --expected OLD, or --expect-absent for a new item")
        }
    }

    func run() async throws {
        let parsed = try LocalStore.parseKey(key)
        let bytes = try readValueArgument(new)
        let condition: WriteCondition = expected.map { .valueEquals(Array($0.utf8)) } ?? .absent
        let outcome = try await store.with(creating: true, isWrite: true) { store in
            try await store.put(parsed, value: bytes, condition: condition)
        }
        switch outcome {
        case .applied:
            try reportWrite(outcome, json: json)
        case .conditionFailed(let currentVersion):
            let message: String
            if let expected {
                message = currentVersion.map {
                    "compare-and-swap failed: the value of \(parsed.text) is not \"\(escapedForLine(Array(expected.utf8)))\" (current version \($0))"
                } ?? "compare-and-swap failed: \(parsed.text) does not exist (expected value \"\(escapedForLine(Array(expected.utf8)))\")"
            } else {
                message = "compare-and-swap failed: \(parsed.text) already exists"
                    + (currentVersion.map { " (current version \($0))" } ?? "")
            }
            throw conditionFailure(currentVersion: currentVersion, json: json, message: message)
        }
    }
}
