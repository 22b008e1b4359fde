import Client
import Credentials
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import TestSupport
import Testing

/// A node's certificate is replaced without a restart: on SIGHUP, and when
/// its file changes. New connections get the new certificate, a file that
/// does not load leaves the current one in place, and the cluster serves throughout.
@Suite struct CredentialReloadTests {
    @Test(.timeLimit(.minutes(3))) func aNodeTakesNewCertificatesOnSignalAndOnFileChange() async throws {
        let cluster = try LocalCluster(nodes: 3, label: "reload", tlsClients: ["ops"])
        defer { cluster.shutdown() }
        let folder = try #require(cluster.credentials)
        try cluster.startAll()
        try await cluster.waitUntilAllListening()
        var options = ClientOptions.cluster(deadline: .seconds(30))
        options.tls = try folder.files(for: .client("ops")).load()
        let operatorCredentials = try #require(options.tls)
        let node = cluster.nodes[0]
        let files = folder.files(for: .member(node.id))

        try await withClient(cluster.nodes.map(\.address), options: options) { client in
            _ = try await client.put(clusterKey("reload-0"), value: [0])
        }
        #expect(try await servedSerial(node.address, operatorCredentials) == (try serial(files.certificate)))

        // A new certificate, then SIGHUP.
        try reissue(folder, node.id)
        kill(try #require(cluster.pid(0)), SIGHUP)
        #expect(await waitUntil(timeout: .seconds(20)) {
            cluster.logLines(0, containing: "TLS credentials reloaded").contains { $0.contains("SIGHUP") }
        }, "\(cluster.logTail(0))")
        #expect(try await servedSerial(node.address, operatorCredentials) == (try serial(files.certificate)))

        // A file that does not load: the node says so and keeps what it has.
        let good = try Data(contentsOf: URL(fileURLWithPath: files.certificate))
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: files.certificate))
        #expect(await waitUntil(timeout: .seconds(20)) {
            !cluster.logLines(0, containing: "TLS credentials not reloaded").isEmpty
        }, "\(cluster.logTail(0))")
        #expect(try await servedSerial(node.address, operatorCredentials) == (try serial(fromPEM: good)))

        // Another new certificate, noticed from the file change alone.
        try reissue(folder, node.id)
        let renewed = try serial(files.certificate)
        #expect(await waitUntil(timeout: .seconds(20)) {
            cluster.logLines(0, containing: "TLS credentials reloaded").contains { $0.contains("file changed") }
        }, "\(cluster.logTail(0))")
        #expect(try await servedSerial(node.address, operatorCredentials) == renewed)

        // Peers and clients still reach it.
        try await withClient(cluster.nodes.map(\.address), options: options) { client in
            for index in 1...20 { _ = try await client.put(clusterKey("reload-\(index)"), value: [UInt8(index)]) }
            _ = try await client.get(clusterKey("reload-1"), consistency: .eventual, at: node.id)
        }
        cluster.checkNodesAlive()
    }

    /// Replaces a member's certificate and key with new ones from the same CA.
    private func reissue(_ folder: CredentialFolder, _ id: String) throws {
        let files = folder.files(for: .member(id))
        try? FileManager.default.removeItem(atPath: files.certificate)
        try? FileManager.default.removeItem(atPath: files.privateKey)
        try folder.ensure([.member(id)])
    }

    private func serial(_ path: String) throws -> [UInt8] {
        try serial(fromPEM: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private func serial(fromPEM data: Data) throws -> [UInt8] {
        try NIOSSLCertificate(bytes: Array(data), format: .pem).serialNumber
    }

    /// The serial number of the certificate the node at `address` serves to a new connection.
    private func servedSerial(_ address: String, _ credentials: TLSCredentials) async throws -> [UInt8] {
        let context = try credentials.clientContext()
        let parts = address.split(separator: ":")
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let served = loop.makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(PeerCertificateCatcher(served: served))
                }
            }
            .connect(host: String(parts[0]), port: Int(parts[1])!).get()
        loop.scheduleTask(in: .seconds(10)) { served.fail(ChannelError.connectTimeout(.seconds(10))) }
        defer { channel.close(promise: nil) }
        return try await served.futureResult.get()
    }
}

/// Hands on the serial number of the certificate the server presented.
private final class PeerCertificateCatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let served: EventLoopPromise<[UInt8]>

    init(served: EventLoopPromise<[UInt8]>) {
        self.served = served
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            if let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate() {
                served.succeed(certificate.serialNumber)
            } else {
                served.fail(ChannelError.inappropriateOperationForState)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
