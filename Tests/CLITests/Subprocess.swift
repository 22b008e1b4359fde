import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a finished subprocess left behind.
struct Finished {
    let status: Int32
    let standardOutput: Data
    let standardError: Data

    var output: String { String(decoding: standardOutput, as: UTF8.self) }
    var errorOutput: String { String(decoding: standardError, as: UTF8.self) }
}

/// A folder under the system's temporary directory, removed by `remove()`.
struct TemporaryFolder {
    let url: URL
    var path: String { url.path }

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Runs an executable to completion without holding a thread: the test's task waits
/// on the process's termination, so the other tests' tasks keep the cooperative pool.
/// Output goes through files, so a chatty child never blocks on a full pipe. A child
/// still running after `timeout` is killed and reported.
func runExecutable(
    _ executable: URL, _ arguments: [String], standardInput: Data? = nil, in directory: URL? = nil,
    environment: [String: String] = [:], timeout: Duration = .seconds(180)
) async throws -> Finished {
    let scratch = try TemporaryFolder("run")
    defer { scratch.remove() }
    let outputURL = scratch.url.appendingPathComponent("stdout")
    let errorURL = scratch.url.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    let outputHandle = try FileHandle(forWritingTo: outputURL)
    let errorHandle = try FileHandle(forWritingTo: errorURL)
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    process.standardOutput = outputHandle
    process.standardError = errorHandle
    let input = Pipe()
    process.standardInput = standardInput == nil ? FileHandle.nullDevice : input
    let exited = ProcessExit()
    process.terminationHandler = { _ in exited.signal() }
    try ChildProcess.spawn(process)
    if let standardInput {
        do {
            try input.fileHandleForWriting.write(contentsOf: standardInput)
            try input.fileHandleForWriting.close()
        } catch {
            kill(process.processIdentifier, SIGKILL)
            await exited.wait()
            throw error
        }
    }
    let finishedInTime = await exited.wait(timeout: timeout)
    if !finishedInTime {
        for child in BackgroundProcess.childProcesses(of: process.processIdentifier) { kill(child, SIGKILL) }
        kill(process.processIdentifier, SIGKILL)
        await exited.wait()
    }
    try outputHandle.close()
    try errorHandle.close()
    let finished = Finished(
        status: process.terminationStatus,
        standardOutput: try Data(contentsOf: outputURL), standardError: try Data(contentsOf: errorURL))
    if !finishedInTime {
        throw TimedOut(command: ([executable.lastPathComponent] + arguments).joined(separator: " "), timeout: timeout, finished: finished)
    }
    return finished
}

struct TimedOut: Error, CustomStringConvertible {
    let command: String
    let timeout: Duration
    let finished: Finished
    var description: String { "`\(command)` still ran after \(timeout) and was killed:\n\(finished.output)\n\(finished.errorOutput)" }
}

/// A long-running child process (such as `tessera dev`) whose standard output and error
/// go to one file, read while it runs. `stop()` always leaves no process behind.
final class BackgroundProcess {
    let process = Process()
    let logURL: URL
    private let log: FileHandle
    private var stopped = false

    init(_ executable: URL, _ arguments: [String], logURL: URL) throws {
        self.logURL = logURL
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        log = try FileHandle(forWritingTo: logURL)
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let exited = exited
        process.terminationHandler = { _ in exited.signal() }
        try ChildProcess.spawn(process)
    }

    private let exited = ProcessExit()

    var output: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// Waits until the output contains `text`; false if the process exits or time runs out first.
    /// The log is read every 100 ms without holding a thread.
    func waitForOutput(_ text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return output.contains(text)
    }

    /// The exit status once the process has exited, or nil if it is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> Int32? {
        await exited.wait(timeout: timeout) ? process.terminationStatus : nil
    }

    /// Blocking form of ``waitForExit(timeout:)``, for `stop()` in a `defer`.
    private func waitForExitBlocking(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// SIGINT, then after `grace` SIGKILL for the process and every process it started,
    /// waiting without holding a thread. Safe to call more than once.
    func stop(grace: Duration = .seconds(20)) async {
        guard !stopped else { return }
        stopped = true
        if process.isRunning {
            let children = Self.childProcesses(of: process.processIdentifier)
            signal(SIGINT)
            if await waitForExit(timeout: grace) == nil {
                for child in Self.childProcesses(of: process.processIdentifier) + children { kill(child, SIGKILL) }
                kill(process.processIdentifier, SIGKILL)
                await exited.wait()
            }
            for child in children where Self.isAlive(child) { kill(child, SIGKILL) }
        }
        try? log.close()
    }

    /// Blocking form of ``stop(grace:) async``, for a `defer` (which cannot await):
    /// it does nothing once the process was stopped.
    func stop(grace: Duration = .seconds(20)) {
        guard !stopped else { return }
        stopped = true
        if process.isRunning {
            let children = Self.childProcesses(of: process.processIdentifier)
            signal(SIGINT)
            if waitForExitBlocking(timeout: grace) == nil {
                for child in Self.childProcesses(of: process.processIdentifier) + children { kill(child, SIGKILL) }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            // Nodes that outlived their supervisor (it was killed) are stopped too.
            for child in children where Self.isAlive(child) { kill(child, SIGKILL) }
        }
        try? log.close()
    }

    /// Processes whose parent is `parent`, from /proc (Linux).
    static func childProcesses(of parent: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After the command name: state, then the parent's id.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent ? pid : nil
        }
    }

    static func isAlive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 }
}

