import ArgumentParser
import CommandSupport
import Foundation
import Storage

struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Store a value under a key, durably: in a cluster, or in a local data directory.",
        discussion: """
            Prints the item's new version once the write is durable (committed by a
            majority of the cell's replicas; with --data-dir, fsynced to the local store).
            With a condition the write applies only if it holds; otherwise nothing
            changes, the item's current version is reported and the exit status is 2.
            The value is the argument's UTF-8 bytes, or with '-' the raw bytes of
            standard input. Without --data-dir it goes to the cluster at --endpoint
            (default: the `tessera dev` cluster); exit status 69 when no node answers.

            Examples:
              tessera put acme/users/rnd/alice/v1 'hello'
              tessera put acme/users/rnd/alice/v1 'hello again' --if-version 1
              tessera put acme/users/rnd/bob - --if-absent --json < photo.jpg
              tessera put acme/users/rnd/alice/v1 'hello' --endpoint 10.0.0.5:7101
              tessera put acme/users/rnd/alice/v1 'hello' --data-dir .tessera/local
            """
    )

    @Argument(help: "The key, as account/resource/rnd/primaryKey[/sortKey].")
    var key: String

    @Argument(help: "The value (its UTF-8 bytes), or '-' to read raw bytes from standard input.")
    var value: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var conditions: ConditionOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let parsed = try LocalStore.parseKey(key)
        let bytes = try readValue()
        let outcome = try await store.with(creating: true, isWrite: true) { store in
            try await store.put(parsed, value: bytes, condition: conditions.condition)
        }
        try reportWrite(outcome, json: json)
    }

    private func readValue() throws -> [UInt8] { try readValueArgument(value) }
}

/// A value argument's UTF-8 bytes, or with '-' the raw bytes of standard input.
func readValueArgument(_ value: String) throws -> [UInt8] {
    guard value == "-" else { return Array(value.utf8) }
    do {
        return Array(try FileHandle.standardInput.readToEnd() ?? Data())
    } catch {
        throw commandFailure("cannot read the value from standard input: \(error.localizedDescription)", status: ExitStatus.ioError)
    }
}

/// Prints `version N` (or `{"version":N}`), or reports the failed condition with exit status 2.
func reportWrite(_ outcome: WriteOutcome, json: Bool) throws {
    switch outcome {
    case .applied(let version):
        writeStandardOutput(json ? encodeJSON(VersionJSON(version: version)) + "\n" : "version \(version)\n")
    case .conditionFailed(let currentVersion):
        throw conditionFailure(currentVersion: currentVersion, json: json)
    }
}
