import ArgumentParser
import Foundation

/// Exit codes of the `tessera` command, documented in README "CLI".
public enum ExitStatus {
    public static let notFound: Int32 = 1
    public static let conditionFailed: Int32 = 2
    /// Bad input: a malformed key, value, file or flag (sysexits' EX_USAGE).
    public static let badInput: Int32 = 64
    /// Stored data failed its checksum or could not be read (EX_DATAERR).
    public static let corruptData: Int32 = 65
    /// No cluster node answered, or a call timed out (EX_UNAVAILABLE): try again later.
    public static let unavailable: Int32 = 69
    /// The key's account is over its request rate: nothing was applied; slow down (EX_TEMPFAIL).
    public static let throttled: Int32 = 75
    /// The operating system refused a file operation, or a node failed handling the request (EX_IOERR).
    public static let ioError: Int32 = 74
    /// A node answered something this `tessera` does not understand (EX_PROTOCOL).
    public static let protocolError: Int32 = 76
    /// The credentials do not allow the operation in the account the message names (EX_NOPERM).
    public static let forbidden: Int32 = 77
    /// The cluster refused the client's credentials: none given, unknown, wrong secret, expired or revoked.
    public static let unauthenticated: Int32 = 80
    /// A data folder was written in an on-disk format this `tessera` does not read (EX_CONFIG).
    public static let unsupportedFormat: Int32 = 78
    /// A program trapped (`tessera wasm invoke`); its host calls made so far stand.
    public static let programTrapped: Int32 = 70
    /// An invocation went past a limit (fuel, memory, deadline, host calls); its host calls made so far stand.
    public static let limitExceeded: Int32 = 71
}

/// Prints `message` to standard error as `error: message` and returns the exit to throw.
public func commandFailure(_ message: String, status: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(status)
}

/// Writes to standard error without a prefix.
public func printToStandardError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes one line to standard output at once (no buffering), so that a process
/// reading it through a pipe sees each line as soon as it is printed.
public func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// One line of compact JSON with sorted keys.
public func encodeJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try! encoder.encode(value), as: UTF8.self)
}

/// Writes to standard output unbuffered (these commands never mix it with `print`).
public func writeStandardOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

public func writeStandardOutput(_ bytes: [UInt8]) {
    FileHandle.standardOutput.write(Data(bytes))
}
