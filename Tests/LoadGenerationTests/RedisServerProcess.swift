import Foundation
import RedisDriver
import TestSupport

/// A `redis-server` of the test's own, on a free loopback port, writing its
/// append-only file into a temporary folder. `stop()` sends SIGTERM and removes
/// the folder; call it from a `defer` so a failing test leaves nothing behind.
final class RedisServerProcess {
    let port: Int
    private let server: TestServerProcess

    var folder: URL { server.folder }
    /// The server's output so far, for failure messages.
    var output: String { server.output }

    /// Starts `redis-server` with every write fsynced before it is acknowledged, as the benchmark runs it.
    init() throws {
        let executable = try PeerProgram.redisServer.require()
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
