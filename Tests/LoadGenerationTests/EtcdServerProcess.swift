import Foundation
import TestSupport

/// An etcd member of the test's own, on free loopback ports, with its data
/// in a temporary folder. `stop()` sends SIGTERM and removes the folder;
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

    /// A single-member cluster.
    convenience init() throws {
        let ports = try LoopbackPorts.free(2)
        try self.init(name: "t", clientPort: ports[0], peerPort: ports[1], initialCluster: "t=http://127.0.0.1:\(ports[1])")
    }

    /// The members of a new cluster of `size`, started together.
    static func cluster(size: Int) throws -> [EtcdServerProcess] {
        let ports = try LoopbackPorts.free(2 * size)
        let names = (1...size).map { "m\($0)" }
        let initialCluster = names.indices.map { "\(names[$0])=http://127.0.0.1:\(ports[size + $0])" }.joined(separator: ",")
        var members: [EtcdServerProcess] = []
        do {
            for index in 0..<size {
                members.append(
                    try EtcdServerProcess(
                        name: names[index], clientPort: ports[index], peerPort: ports[size + index],
                        initialCluster: initialCluster))
            }
        } catch {
            members.forEach { $0.stop() }
            throw error
        }
        return members
    }

    init(name: String, clientPort: Int, peerPort: Int, initialCluster: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else { throw NotInstalled(path: Self.executable) }
        (self.clientPort, self.peerPort) = (clientPort, peerPort)
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
                "--name", name, "--data-dir", folder.appendingPathComponent("data").path,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initialCluster,
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
