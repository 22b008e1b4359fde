import Credentials
import NIOCore
import NIOSSL

/// How a node's links are secured: TLS contexts made once from its
/// credentials (accepting, and dialing peers), or plaintext.
struct LinkSecurity: Sendable {
    let credentials: TLSCredentials
    let serverContext: NIOSSLContext
    let clientContext: NIOSSLContext

    init(_ credentials: TLSCredentials) throws {
        self.credentials = credentials
        serverContext = try credentials.serverContext()
        clientContext = try credentials.clientContext()
    }

    /// The identity the other end's certificate names, once its handshake is done (nil: none, or plaintext).
    static func peerIdentity(of channel: any Channel) -> PeerIdentity? {
        guard let certificate = try? channel.pipeline.syncOperations.nioSSL_peerCertificate(),
            let der = try? certificate.toDERBytes() else { return nil }
        return TLSCredentials.identity(ofPeerCertificate: der)
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
