import Credentials
import NIOCore
import NIOSSL
import NIOTLS

/// Over TLS, a node must show a certificate the cluster's CA made for a
/// member: one made for a client does not make its holder a node.
final class MemberCertificateCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let endpoint: Endpoint

    init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            let der = (try? context.pipeline.syncOperations.nioSSL_peerCertificate()).flatMap { $0 }.flatMap { try? $0.toDERBytes() }
            guard case .member = der.flatMap(TLSCredentials.identity(ofPeerCertificate:)) else {
                context.fireErrorCaught(TransportFailure.connect("\(endpoint) is not a member of the cluster: its certificate names no member"))
                context.close(promise: nil)
                return
            }
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
