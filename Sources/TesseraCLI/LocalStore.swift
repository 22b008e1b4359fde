import ArgumentParser
import CommandSupport
import Foundation
import Keyspace
import Storage

/// `--if-version`, `--if-absent`, `--if-value`, `--if-exists`: at most one condition per write.
struct ConditionOptions: ParsableArguments {
    @Option(name: .customLong("if-version"), help: ArgumentHelp("Apply only if the item's current version is N.", valueName: "N"))
    var ifVersion: UInt64?

    @Flag(name: .customLong("if-absent"), help: "Apply only if the item does not exist.")
    var ifAbsent = false

    @Option(
        name: .customLong("if-value"),
        help: ArgumentHelp("Apply only if the item's current value is exactly these bytes (UTF-8): compare-and-swap.", valueName: "value"))
    var ifValue: String?

    @Flag(name: .customLong("if-exists"), help: "Apply only if the item exists.")
    var ifExists = false

    func validate() throws {
        let given = [
            ifVersion == nil ? nil : "--if-version", ifAbsent ? "--if-absent" : nil,
            ifValue == nil ? nil : "--if-value", ifExists ? "--if-exists" : nil,
        ].compactMap { $0 }
        if given.count > 1 {
            throw ValidationError("\(given.joined(separator: " and ")) are mutually exclusive: give at most one condition")
        }
    }

    var condition: WriteCondition {
        if let ifVersion { return .versionEquals(ifVersion) }
        if ifAbsent { return .absent }
        if let ifValue { return .valueEquals(Array(ifValue.utf8)) }
        if ifExists { return .exists }
        return .none
    }
}

/// Opening the local store, and turning what goes wrong into exit statuses.
enum LocalStore {
    /// Opens the store at `path`, runs `body` and closes the store whatever happens.
    /// With `creating` false, a missing data directory is an error rather than a new, empty store.
    static func with<Result>(
        _ path: String, creating: Bool, _ body: (Store) async throws -> Result
    ) async throws -> Result {
        var isDirectory: ObjCBool = false
        if creating {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw commandFailure("cannot create data directory \(path): \(error.localizedDescription)", status: ExitStatus.ioError)
            }
        } else if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || !isDirectory.boolValue {
            throw commandFailure(
                "no data directory at \(path): nothing has been stored there (`tessera put` creates it; --data-dir picks another)",
                status: ExitStatus.ioError)
        }
        let store: Store
        do {
            store = try Store(path: path)
        } catch {
            throw failure(error)
        }
        let result: Result
        do {
            result = try await body(store)
        } catch {
            try? store.close()
            throw failure(error)
        }
        do {
            try store.close()
        } catch {
            throw failure(error)
        }
        return result
    }

    /// The exit to throw for an error from the store; other errors (an `ExitCode`
    /// already reported, a `ValidationError`) pass through unchanged.
    static func failure(_ error: any Error) -> any Error {
        guard let error = error as? StorageError else { return error }
        let status: Int32 =
            switch error {
            case .corruption: ExitStatus.corruptData
            case .unsupportedFormat: ExitStatus.unsupportedFormat
            case .io, .locked, .closed, .simulatedCrash: ExitStatus.ioError
            case .valueTooLarge, .invalidBatch, .unsupportedResourceType, .invalidContinuationToken: ExitStatus.badInput
            }
        return commandFailure(error.description, status: status)
    }

    /// Parses a key argument, exiting with status 64 and the part at fault when it is malformed.
    static func parseKey(_ text: String) throws -> Key {
        do {
            return try Key(parsing: text)
        } catch {
            throw commandFailure(error.description, status: ExitStatus.badInput)
        }
    }
}

/// Reports a failed write condition: the message on standard error, JSON on standard output
/// with `--json`, and exit status 2. `message` replaces the default `condition failed: …`.
func conditionFailure(currentVersion: UInt64?, json: Bool, message: String? = nil) -> ExitCode {
    if json { writeStandardOutput(encodeJSON(ConditionFailedJSON(currentVersion: currentVersion)) + "\n") }
    let state = currentVersion.map { "current version \($0)" } ?? "item does not exist"
    return commandFailure(message ?? "condition failed: \(state)", status: ExitStatus.conditionFailed)
}

/// `{"conditionFailed":true,"currentVersion":N|null}`
private struct ConditionFailedJSON: Encodable {
    let currentVersion: UInt64?

    enum CodingKeys: String, CodingKey { case conditionFailed, currentVersion }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(true, forKey: .conditionFailed)
        try container.encode(currentVersion, forKey: .currentVersion)
    }
}

/// `{"version":N}`, printed by `put` and `delete`.
struct VersionJSON: Encodable {
    let version: UInt64
}

/// One item as JSON: `value` is its UTF-8 text, or null with `valueBase64` when it is not UTF-8.
struct ItemJSON: Encodable {
    let key: String
    let sortKey: String
    let version: UInt64
    let value: [UInt8]

    init(collection: Key, item: Item) {
        let full = try? Key(
            account: collection.account, resource: collection.resource, type: collection.type,
            primaryKey: collection.primaryKey, sortKey: item.sortKey)
        key = full?.text ?? collection.text
        sortKey = full?.sortKeyText ?? ""
        version = item.version
        value = item.value
    }

    enum CodingKeys: String, CodingKey { case key, sortKey, version, value, valueBase64 }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(sortKey, forKey: .sortKey)
        try container.encode(version, forKey: .version)
        if let text = String(validating: value, as: UTF8.self) {
            try container.encode(text, forKey: .value)
        } else {
            try container.encodeNil(forKey: .value)
            try container.encode(Data(value).base64EncodedString(), forKey: .valueBase64)
        }
    }
}

/// A value on one line: UTF-8 text kept, `\` `\t` `\n` `\r` escaped, other control
/// characters and bytes that are not UTF-8 written `\xHH`.
func escapedForLine(_ bytes: [UInt8]) -> String {
    var output = ""
    func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count < 2 ? "0" + digits : digits
    }
    if let text = String(validating: bytes, as: UTF8.self) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case "\t": output += "\\t"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: output += "\\x" + hex(scalar.value)
            case _ where (0x80...0x9F).contains(scalar.value): output += "\\u{" + hex(scalar.value) + "}"
            default: output.unicodeScalars.append(scalar)
            }
        }
    } else {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): output += "\\\\"
            case UInt8(ascii: "\t"): output += "\\t"
            case UInt8(ascii: "\n"): output += "\\n"
            case UInt8(ascii: "\r"): output += "\\r"
            case 0x20..<0x7F: output.unicodeScalars.append(Unicode.Scalar(byte))
            default: output += "\\x" + hex(UInt32(byte))
            }
        }
    }
    return output
}
