import ArgumentParser
import Foundation

/// Exit codes of the `tessera` command, documented in README "CLI".
enum ExitStatus {
    static let notFound: Int32 = 1
    static let conditionFailed: Int32 = 2
    /// Bad input: a malformed key, value, file or flag (sysexits' EX_USAGE).
    static let badInput: Int32 = 64
    /// Stored data failed its checksum or could not be read (EX_DATAERR).
    static let corruptData: Int32 = 65
    /// No cluster node answered, or a call timed out (EX_UNAVAILABLE): try again later.
    static let unavailable: Int32 = 69
    /// The operating system refused a file operation, or a node failed handling the request (EX_IOERR).
    static let ioError: Int32 = 74
    /// A node answered something this `tessera` does not understand (EX_PROTOCOL).
    static let protocolError: Int32 = 76
}

/// Prints `message` to standard error as `error: message` and returns the exit to throw.
func commandFailure(_ message: String, status: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(status)
}

/// Writes to standard error without a prefix.
func printToStandardError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes one line to standard output at once (no buffering), so that a process
/// reading it through a pipe sees each line as soon as it is printed.
func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
