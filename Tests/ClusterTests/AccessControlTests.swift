import Client
import Credentials
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import TestSupport
import Testing
import Wire

/// Access control across a three-node TLS cluster, with real processes:
/// what a client without credentials, with an expired certificate, or with a
/// revoked access key gets from every node, and a peer whose certificate is
/// the CA's but names another member.
@Suite struct AccessControlTests {
    @Test(.timeLimit(.minutes(3))) func everyNodeRefusesWhatTheCredentialsDoNotAllow() async throws {
        let cluster = try LocalCluster(nodes: 3, label: "access", tlsClients: ["ops"])
        defer { cluster.shutdown() }
        let folder = try #require(cluster.credentials)
        let ids = cluster.nodes.map(\.id)
        try cluster.startAll()
        try await cluster.waitUntilAllListening()
        let endpoints = cluster.nodes.map(\.address)

        var operatorOptions = ClientOptions.cluster(deadline: .seconds(30))
        operatorOptions.tls = try folder.files(for: .client("ops")).load()
        let caOnly = try TLSCredentials.trustingOnly(certificateAuthority: folder.certificateAuthorityPath)

        // No certificate and no key: refused at once with a typed error, not retried until the deadline.
        var anonymous = ClientOptions.cluster(deadline: .seconds(20))
        anonymous.tls = caOnly
        let started = ContinuousClock.now
        let unauthenticated = await #expect(throws: TesseraClientError.self) {
            try await withClient(endpoints, options: anonymous) { _ = try await $0.get(clusterKey("a")) }
        }
        #expect(ContinuousClock.now - started < .seconds(10), "the refusal waited for the deadline")
        guard case .unauthenticated(let message) = unauthenticated else { Issue.record("\(String(describing: unauthenticated))"); return }
        #expect(message.contains("no credentials"), "\(message)")

        // A certificate of the cluster's CA that has expired: the nodes' TLS refuses it.
        let expiredFolder = CredentialFolder(path: folder.path + "/expired")
        try FileManager.default.createDirectory(atPath: expiredFolder.path, withIntermediateDirectories: true)
        for name in ["ca.pem", "ca-key.pem"] {
            try FileManager.default.copyItem(atPath: folder.path + "/" + name, toPath: expiredFolder.path + "/" + name)
        }
        let past = Date().addingTimeInterval(-3 * 86_400)
        try expiredFolder.ensure([.client("late")], validFor: 86_400, now: past)
        var expired = ClientOptions.cluster(deadline: .seconds(20))
        expired.tls = try expiredFolder.files(for: .client("late")).load(now: past.addingTimeInterval(3_600))
        let refusal = await #expect(throws: TesseraClientError.self) {
            try await withClient(endpoints, options: expired) { _ = try await $0.get(clusterKey("a")) }
        }
        guard case .unauthenticated(let expiredMessage) = refusal else { Issue.record("\(String(describing: refusal))"); return }
        #expect(expiredMessage.contains("expired"), "\(expiredMessage)")

        // An access key for "acme", made through one node, works through every node…
        let made = try await withClient(endpoints, options: operatorOptions) { client in
            try await client.createAccessKey(grants: try AccountGrants.parse(["acme"]))
        }
        var keyed = ClientOptions.cluster(deadline: .seconds(30))
        keyed.tls = caOnly
        keyed.accessKey = made.key
        let key = try Key(parsing: "acme/tbl/rnd/revocation")
        try await withClient(endpoints, options: keyed) { client in
            _ = try await client.put(key, value: Array("v".utf8))
            for id in ids { _ = try await client.get(key, consistency: .eventual, at: id) }
            // …never in another account.
            let forbidden = await #expect(throws: TesseraClientError.self) {
                _ = try await client.put(try Key(parsing: "other/tbl/rnd/x"), value: [1])
            }
            guard case .forbidden(let message) = forbidden, message.contains("may not write account other") else {
                Issue.record("\(String(describing: forbidden))")
                return
            }

            // Revoked through one node: every node refuses it once the documented bound has passed, on open connections too.
            _ = try await withClient(endpoints, options: operatorOptions) { try await $0.revokeAccessKey(id: made.key.id) }
            try await Task.sleep(for: .seconds(TesseraClient.revocationSeconds))
            for id in ids {
                do {
                    _ = try await client.get(key, consistency: .eventual, at: id)
                    Issue.record("\(id) still honoured the revoked key \(TesseraClient.revocationSeconds) s after the revocation")
                } catch let error as TesseraClientError {
                    guard case .unauthenticated(let message) = error else { Issue.record("\(id): \(error)"); continue }
                    #expect(message.contains("was revoked"), "\(id): \(message)")
                }
            }
        }

        // A peer with the CA's certificate for node-2 saying it is node-3: refused, and the log says why.
        let member2 = try folder.files(for: .member(ids[1])).load()
        try await sayHello(.peer(memberID: ids[2], clusterFingerprint: 0), to: cluster.nodes[0].address, with: member2)
        #expect(await waitUntil(timeout: .seconds(20)) {
            cluster.logLines(0, containing: "hello as member \(ids[2]) refused").contains {
                $0.contains("names member \(ids[1]), not member \(ids[2])")
            }
        }, "\(cluster.logTail(0))")
    }

    /// Opens a TLS connection with `credentials`, sends `hello`, and waits (briefly) for the node to close it.
    private func sayHello(_ hello: Hello, to address: String, with credentials: TLSCredentials) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let context = try credentials.clientContext()
        let parts = address.split(separator: ":")
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                }
            }
            .connect(host: String(parts[0]), port: Int(parts[1])!).get()
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: Frame.hello(hello).encoded())).get()
        _ = try? await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await channel.closeFuture.get() }
            tasks.addTask { try await Task.sleep(for: .seconds(10)) }
            try await tasks.next()
            tasks.cancelAll()
        }
        try? await channel.close()
    }
}
