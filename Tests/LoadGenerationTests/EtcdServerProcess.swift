import Foundation
import TestSupport

/// A single-member etcd of the test's own, on free loopback ports, with its
/// data in a temporary folder. `stop()` sends SIGTERM and removes the folder;
/// call it from a `defer` so a failing test leaves nothing behind.
final class EtcdServerProcess {
    struct NotInstalled: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "etcd is not installed (no \(path)): install it with `apt-get install etcd-server` "
                + "(CI installs it) to run the etcd driver's integration tests"
        }
    }

    static let executable = "/usr/bin/etcd"

    let clientPort: Int
    let peerPort: Int
    let folder: URL
    private let process = Process()
    private let log: FileHandle
    private var stopped = false

    var endpoint: String { "127.0.0.1:\(clientPort)" }
    private var logURL: URL { folder.appendingPathComponent("etcd.log") }

    /// etcd's output so far, for failure messages.
    var output: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else { throw NotInstalled(path: Self.executable) }
        let ports = try LoopbackPorts.free(2)
        (clientPort, peerPort) = (ports[0], ports[1])
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-etcd-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("etcd.log").path, contents: nil)
            log = try FileHandle(forWritingTo: folder.appendingPathComponent("etcd.log"))
            let client = "http://127.0.0.1:\(clientPort)"
            let peer = "http://127.0.0.1:\(peerPort)"
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = [
                "--name", "t", "--data-dir", folder.appendingPathComponent("data").path,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "t=\(peer)",
            ]
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// SIGTERM, SIGKILL if etcd takes over 5 s to exit, then the folder goes.
    /// Safe to call more than once.
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
}
