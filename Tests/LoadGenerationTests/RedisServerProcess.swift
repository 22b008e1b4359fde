import Foundation
import TestSupport

/// A `redis-server` of the test's own, on a free loopback port, writing its
/// append-only file into a temporary folder. `stop()` sends SIGTERM and removes
/// the folder; call it from a `defer` so a failing test leaves nothing behind.
final class RedisServerProcess {
    struct NotInstalled: Error, CustomStringConvertible {
        let searched: [String]
        var description: String {
            "redis-server is not installed (looked for \(searched.joined(separator: ", "))): "
                + "install it with `apt-get install redis-server` (CI installs it) to run the Redis driver's integration tests"
        }
    }

    static let candidates = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server"]

    let port: Int
    let folder: URL
    private let process = Process()
    private let log: FileHandle
    private var stopped = false

    var logURL: URL { folder.appendingPathComponent("redis-server.log") }

    /// The server's output so far, for failure messages.
    var output: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Starts `redis-server` with every write fsynced before it is acknowledged, as the benchmark runs it.
    init() throws {
        guard let executable = Self.candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw NotInstalled(searched: Self.candidates)
        }
        port = try LoopbackPorts.closed()
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-redis-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("redis-server.log").path, contents: nil)
            log = try FileHandle(forWritingTo: folder.appendingPathComponent("redis-server.log"))
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                "--appendfsync", "always", "--dir", folder.path,
            ]
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try Self.withSignalsUnblocked { try process.run() }
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// SIGTERM (Redis flushes its append-only file and exits), SIGKILL if that takes over 5 s,
    /// then the folder goes. Safe to call more than once.
    func stop() {
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

    /// A child starts with the signal mask of the thread that spawns it, and threads of Swift's
    /// task pool block most signals: spawned from one, redis-server would never see SIGTERM.
    /// The mask is lifted on this thread for the (synchronous) spawn only.
    private static func withSignalsUnblocked(_ body: () throws -> Void) rethrows {
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_UNBLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try body()
    }
}
