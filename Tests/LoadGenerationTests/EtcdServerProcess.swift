import EtcdDriver
import Foundation
import TestSupport

/// An etcd member of the test's own, on free loopback ports, with its data
/// in a temporary folder. `stop()` sends SIGTERM and removes the folder;
/// call it from a `defer` so a failing test leaves nothing behind.
final class EtcdServerProcess {

    let clientPort: Int
    let peerPort: Int
    private let server: TestServerProcess

    var endpoint: String { "127.0.0.1:\(clientPort)" }
    var folder: URL { server.folder }
    /// etcd's output so far, for failure messages.
    var output: String { server.output }

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
        let executable = try PeerProgram.etcd.require()
        (self.clientPort, self.peerPort) = (clientPort, peerPort)
        let client = "http://127.0.0.1:\(clientPort)"
        let peer = "http://127.0.0.1:\(peerPort)"
        server = try TestServerProcess(executable: executable, name: "etcd") { folder in
            [
                "--name", name, "--data-dir", folder.appendingPathComponent("data").path,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initialCluster,
            ]
        }
    }

    /// SIGTERM, SIGKILL if etcd takes over 5 s to exit, then the folder goes.
    /// Safe to call more than once.
    func stop() { server.stop() }
}
