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
    private let server: TestServerProcess

    var folder: URL { server.folder }
    /// The server's output so far, for failure messages.
    var output: String { server.output }

    /// Starts `redis-server` with every write fsynced before it is acknowledged, as the benchmark runs it.
    init() throws {
        guard let executable = Self.candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw NotInstalled(searched: Self.candidates)
        }
        let port = try LoopbackPorts.closed()
        self.port = port
        server = try TestServerProcess(executable: executable, name: "redis-server") { folder in
            [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                "--appendfsync", "always", "--dir", folder.path,
            ]
        }
    }

    /// SIGTERM (Redis flushes its append-only file and exits), SIGKILL if that takes over 5 s,
    /// then the folder goes. Safe to call more than once.
    func stop() { server.stop() }
}
