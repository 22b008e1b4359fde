import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A server a test starts for itself (redis-server, etcd, …): its data and log
/// in a new temporary folder, stopped with SIGTERM (SIGKILL after 5 s) and the
/// folder removed by `stop()`. Call `stop()` from a `defer` so that a failing
/// test leaves nothing behind; `deinit` stops it too.
public final class TestServerProcess {
    public let folder: URL
    public let logURL: URL
    private let process = Process()
    private let log: FileHandle
    private var stopped = false

    /// Starts `executable` with the arguments `arguments(folder)` gives for the new folder.
    public init(executable: String, name: String, arguments: (URL) -> [String]) throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        logURL = folder.appendingPathComponent("\(name).log")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
            log = try FileHandle(forWritingTo: logURL)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments(folder)
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try ChildProcess.spawn(process)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// The server's output so far, for failure messages.
    public var output: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    public var isRunning: Bool { process.isRunning }

    /// SIGTERM, SIGKILL if the server takes over 5 s to exit, then the folder goes.
    /// Safe to call more than once.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? log.close()
        try? FileManager.default.removeItem(at: folder)
    }

    deinit { stop() }
}
