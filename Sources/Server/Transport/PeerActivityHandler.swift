import Cell
import NIOCore

/// First in a connection's pipeline: any bytes from a known peer prove it
/// alive, even the middle of a large frame that will take seconds to arrive.
/// (Counting only whole frames made a node receiving a big catch-up suspect
/// the very peer that was sending it.)
final class PeerActivityHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let links: PeerLinks
    /// Set once the connection is known to be a peer's (loop-bound).
    var peer: NodeID?

    init(links: PeerLinks, peer: NodeID?) {
        self.links = links
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let peer { links.heard(peer) }
        context.fireChannelRead(data)
    }
}
