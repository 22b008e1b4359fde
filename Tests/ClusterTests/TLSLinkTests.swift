import Client
import Credentials
import Foundation
import TestSupport
import Testing

/// Links over TLS with real processes: nodes present certificates of the
/// cluster's CA naming their member id, and clients present one naming a
/// client. A node with a certificate from another CA, or one naming another
/// member, is refused by its peers, whose logs say why; a client without a
/// certificate, or with a plaintext connection, gets nothing served.
@Suite struct TLSLinkTests {
    @Test(.timeLimit(.minutes(3))) func peersAndClientsMustPresentTheCertificateOfWhoTheyAre() async throws {
        let cluster = try LocalCluster(nodes: 3, label: "tls", tlsClients: ["app"])
        defer { cluster.shutdown() }
        let folder = try #require(cluster.credentials)

        try cluster.start(0)
        try cluster.start(1)
        try await cluster.waitUntilListening(0)
        try await cluster.waitUntilListening(1)

        var options = ClientOptions.cluster()
        options.tls = try folder.files(for: .client("app")).load()
        let endpoints = cluster.nodes.prefix(2).map(\.address)
        try await withClient(endpoints, options: options) { client in
            let key = clusterKey("tls-1")
            _ = try await client.put(key, value: Array("over TLS".utf8))
            let item = try await client.get(key)
            #expect(item.map { String(decoding: $0.value, as: UTF8.self) } == "over TLS")
        }

        // A client with no certificate is refused; so is a plaintext one.
        var anonymous = ClientOptions.cluster(deadline: .seconds(3))
        anonymous.tls = nil
        let plaintext = await #expect(throws: (any Error).self) {
            try await withClient(endpoints, options: anonymous) { _ = try await $0.get(clusterKey("tls-1")) }
        }
        #expect("\(plaintext.map { "\($0)" } ?? "")".contains("speaks TLS"), "a plaintext client is told why: \(String(describing: plaintext))")
        #expect(await waitUntil(timeout: .seconds(10)) { !cluster.logLines(0, containing: "closing connection").isEmpty },
                "\(cluster.logTail(0))")

        // node-3 with a certificate of another CA: its peers refuse the link, whichever side dials.
        let impostorLog = try await startImpostor(cluster, index: 2, folder: folder)
        let impostorPort = ":\(cluster.nodes[2].port)"
        #expect(await waitUntil(timeout: .seconds(20)) {
            (0...1).contains { index in
                cluster.logLines(index, containing: "closing connection").contains { $0.contains(impostorPort) }
            }
        }, "\(cluster.logTail(0))\n\(cluster.logTail(1))\n\(impostorLog)")
        let refusals = (0...1).flatMap { cluster.logLines($0, containing: "closing connection") }
        #expect(refusals.contains { $0.contains(impostorPort) && $0.contains("not signed by the cluster's CA") }, "\(refusals)")
        #expect(refusals.contains { $0.contains("does not speak TLS") }, "the plaintext client's refusal: \(refusals)")
        for index in 0...1 {
            for line in cluster.logLines(index, containing: "closing connection") where line.contains(impostorPort) {
                print("[tls] \(cluster.nodes[index].id): \(line)")
            }
        }
        for line in cluster.logLines(0, containing: "closing connection") where !line.contains(impostorPort) {
            print("[tls] anonymous client, \(cluster.nodes[0].id): \(line)")
        }
        // …and it serves nothing: a write still needs node-1 and node-2, and they still agree.
        try await withClient(endpoints, options: options) { client in
            _ = try await client.put(clusterKey("tls-2"), value: Array("still".utf8))
        }
    }

    /// Starts node `index` with a certificate of another CA (and that CA as
    /// its trust root, so that its own start-up check passes), for a few seconds.
    private func startImpostor(_ cluster: LocalCluster, index: Int, folder: CredentialFolder) async throws -> String {
        let node = cluster.nodes[index]
        let strangers = CredentialFolder(path: folder.path + "/other-ca")
        try strangers.ensure([.member(node.id)])
        let files = strangers.files(for: .member(node.id))
        let executable = try BuiltExecutable.url("tessera")
        let process = Process()
        process.executableURL = executable
        process.arguments = [
            "serve", "--node-id", node.id, "--listen", node.address, "--members", cluster.membersPath,
            "--data-dir", node.dataDirectory, "--cell-depth", "\(cluster.cellDepth)", "--replicas", "3",
            "--tls-ca", files.certificateAuthority, "--tls-cert", files.certificate, "--tls-key", files.privateKey,
        ]
        let logURL = URL(fileURLWithPath: node.logPath + ".impostor")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try ChildProcess.spawn(process)
        try? log.close()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // It runs while its peers try it (they redial every heartbeat); the caller waits on their logs.
        try? await Task.sleep(for: .seconds(4))
        return (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }
}
