import Credentials
import Logging
import NIOCore
import NIOSSL
import Foundation
import Synchronization
import Wire

/// How a node's links are secured: TLS contexts made from its credentials
/// (accepting, and dialing peers), or plaintext. The credentials can be
/// replaced while the node runs (``reload()``): connections made afterwards
/// use the new ones, connections already open keep theirs.
final class LinkSecurity: Sendable {
    private struct Current {
        var credentials: TLSCredentials
        var serverContext: NIOSSLContext
        var clientContext: NIOSSLContext
    }

    private let current: Mutex<Current>

    init(_ credentials: TLSCredentials) throws {
        current = Mutex(Current(credentials: credentials, serverContext: try credentials.serverContext(),
                                clientContext: try credentials.clientContext()))
    }

    var credentials: TLSCredentials { current.withLock { $0.credentials } }
    var serverContext: NIOSSLContext { current.withLock { $0.serverContext } }
    var clientContext: NIOSSLContext { current.withLock { $0.clientContext } }

    /// Reads the credential files again and, if they load, name the same
    /// member and make contexts, uses them from now on. Throws (and keeps
    /// the current ones) otherwise.
    @discardableResult
    func reload(now: Date = Date()) throws -> TLSCredentials {
        let old = credentials
        let loaded = try old.files.load(now: now)
        guard loaded.identity == old.identity else {
            throw CredentialError(file: old.files.certificate, problem: "now names \(loaded.identity.map { "\($0)" } ?? "nothing"), not \(old.identity.map { "\($0)" } ?? "nothing")")
        }
        let replacement = Current(credentials: loaded, serverContext: try loaded.serverContext(), clientContext: try loaded.clientContext())
        current.withLock { $0 = replacement }
        return loaded
    }

    /// The identity the other end's certificate names, once its handshake is done (nil: none, or plaintext).
    static func peerIdentity(of channel: any Channel) -> PeerIdentity? {
        peerCertificate(of: channel).flatMap(TLSCredentials.identity(ofPeerCertificate:))
    }

    /// The other end's certificate (DER), verified against the CA during the handshake.
    static func peerCertificate(of channel: any Channel) -> [UInt8]? {
        guard let certificate = try? channel.pipeline.syncOperations.nioSSL_peerCertificate() else { return nil }
        return try? certificate.toDERBytes()
    }

    /// Who a client connection is, from its certificate (over TLS) or the access key in its hello.
    static func credential(of channel: any Channel, hello: Hello, secured: Bool) -> ConnectionCredential {
        if case .clientWithAccessKey(let id, let secret) = hello {
            return .accessKey(id: id, secretDigest: AccessKey.digest(ofSecret: secret))
        }
        guard secured else { return .fixed(.plaintext) }
        guard let der = peerCertificate(of: channel) else { return .none }
        switch TLSCredentials.identity(ofPeerCertificate: der) {
        case .member(let id): return .fixed(.member(id))
        case .client(let name): return .fixed(.certificate(name, grants: TLSCredentials.grants(ofPeerCertificate: der)))
        case nil: return .none
        }
    }
}

/// A TLS failure said plainly: BoringSSL's error stack names routines and
/// source lines, where an operator needs to know who is at fault.
enum TLSFailure {
    static func reason(_ error: any Error) -> String? {
        let text: String
        switch error {
        case NIOSSLError.handshakeFailed(let inner): text = "\(inner)"
        case let inner as BoringSSLError: text = "\(inner)"
        default: return nil
        }
        let codes = ["WRONG_VERSION_NUMBER", "HTTP_REQUEST", "BAD_SIGNATURE", "CERTIFICATE_VERIFY_FAILED", "UNKNOWN_CA",
                     "CERTIFICATE_EXPIRED", "CERTIFICATE_REQUIRED", "NO_CERTIFICATE", "EOF during handshake"]
            .filter { text.contains($0) }
        let found = codes.isEmpty ? "" : " (\(codes.joined(separator: ", ")))"
        if codes.contains("WRONG_VERSION_NUMBER") || codes.contains("HTTP_REQUEST") {
            return "the other side does not speak TLS (a plaintext client or node?); this node requires TLS" + found
        }
        if codes.contains("BAD_SIGNATURE") || codes.contains("CERTIFICATE_VERIFY_FAILED") || codes.contains("UNKNOWN_CA") {
            return "TLS handshake failed: a certificate is not signed by the cluster's CA" + found
        }
        if codes.contains("CERTIFICATE_EXPIRED") { return "TLS handshake failed: a certificate has expired" + found }
        if codes.contains("EOF during handshake") {
            return "the other side closed the connection during the TLS handshake (it may not trust this node's certificate)"
        }
        return "TLS handshake failed: " + String(text.prefix(300))
    }
}

/// In front of a TLS listener: a connection whose first byte is not a TLS
/// handshake is a plaintext client or node. It is answered with a TLS alert
/// record (protocol version), which a plaintext Tessera client reads as
/// "this node requires TLS" at once instead of retrying until its deadline,
/// and closed; the log says why.
final class PlaintextRefusal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    static let protocolVersionAlert: [UInt8] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        if first == 0x16 {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
            return
        }
        let remote = context.channel.remoteAddress.map { "\($0)" } ?? "unknown"
        logger.warning("closing connection", metadata: [
            "remote": "\(remote)", "reason": "the other side does not speak TLS (a plaintext client or node?); this node requires TLS"])
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: Self.protocolVersionAlert))).whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
