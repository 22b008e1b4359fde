import Cell
import Logging
import NIOCore
import Wire

/// What a client connection's requests are handed to.
protocol RequestRouter: AnyObject, Sendable {
    /// Answers `request` exactly once, through `replies.sendReply`.
    func handle(_ request: ClientRequest, replies: ChannelOutbox)
}

enum Connection {
    /// The pipeline of every connection, peer or client: frames in, frames out.
    /// A connection this node accepted (`accepted`) must open with a small hello.
    static func handlers(_ handler: ConnectionHandler, accepted: Bool = false) -> [any ChannelHandler] {
        let decoder = FrameDecoder(firstFrameBodyBytesMaximum: accepted ? FrameDecoder.helloBodyBytesMaximum : nil)
        let framing: [any ChannelHandler] = [
            handler.activity, ByteToMessageHandler(decoder), MessageToByteHandler(FrameEncoder()), handler,
        ]
        return accepted ? [IdleStateHandler(readTimeout: clientIdleTimeout)] + framing : framing
    }

    /// An accepted client connection that sends nothing for this long is closed
    /// (peers send heartbeats, so theirs never idle); the client reconnects on use.
    static let clientIdleTimeout: TimeAmount = .minutes(10)

    /// How long an accepted connection may take to send its hello.
    static let helloDeadline: TimeAmount = .seconds(5)
}

/// One connection: its first frame says who is at the other end, and from
/// then on only that role's frames are accepted. A frame that does not decode
/// or does not belong closes this connection, with the reason logged, and
/// touches nothing else.
final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    enum Role { case unknown, peer(NodeID), client }

    private var role: Role
    /// What this connection sends, batched per pass of its event loop and bounded.
    private var outbox: ChannelOutbox?
    /// A peer connection: what it delivered that the shards have not processed.
    private var pacer: InboundPacer?
    /// Sees every byte that arrives, to tell the peer's liveness.
    let activity: PeerActivityHandler
    private let links: PeerLinks
    private weak var router: (any RequestRouter)?
    private let logger: Logger
    private var helloDeadline: Scheduled<Void>?

    init(role: Role, links: PeerLinks, router: (any RequestRouter)?, logger: Logger) {
        self.role = role
        self.links = links
        self.router = router
        self.logger = logger
        if case .peer(let peer) = role {
            activity = PeerActivityHandler(links: links, peer: peer)
        } else {
            activity = PeerActivityHandler(links: links, peer: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .peer = role {
            // This node dialed: it says who it is before anything else leaves.
            let layout = links.layout
            context.writeAndFlush(wrapOutboundOut(.hello(.peer(memberID: layout.configuration.memberID,
                                                              clusterFingerprint: layout.fingerprint))), promise: nil)
            becomePeer(context)
        }
        if case .unknown = role {
            // A connection that never says who it is holds a socket and a buffer: it goes.
            helloDeadline = context.eventLoop.scheduleTask(in: Connection.helloDeadline) { [weak self] in
                guard let self, case .unknown = self.role else { return }
                self.refuse(context, "no hello within \(Connection.helloDeadline)")
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .hello = frame {
            helloDeadline?.cancel()
            helloDeadline = nil
        }
        switch (role, frame) {
        case (.unknown, .hello(.client)):
            role = .client
            outbox = ChannelOutbox(channel: context.channel, bytesMaximum: NodeLimits.clientReplyBytesMaximum,
                                   whenFull: .stopReading, requestsInFlightMaximum: NodeLimits.clientRequestsInFlightMaximum)
        case (.unknown, .hello(.peer(let memberID, let fingerprint))):
            guard let peer = links.layout.nodeID(of: memberID), peer != links.layout.me else {
                return refuse(context, "hello from \(memberID.debugDescription), which is not another member of this cluster")
            }
            guard fingerprint == links.layout.fingerprint else {
                return refuse(context, "peer \(memberID) has a different members file, cell depth or replica count")
            }
            role = .peer(peer)
            activity.peer = peer
            links.heard(peer)
            becomePeer(context)
        case (.peer(let peer), .cellMessages(let envelopes)):
            if let pacer { links.deliver(envelopes, from: peer, pacer: pacer) }
        case (.peer(let peer), .snapshotTransfer(let transfer)):
            if let pacer { links.deliver(transfer, from: peer, pacer: pacer) }
        case (.peer, .heartbeat):
            break  // the activity handler already counted its bytes
        case (.client, .request(let request)):
            guard let outbox, let router else { return }
            if outbox.admitRequest() {
                router.handle(request, replies: outbox)
            } else {
                outbox.send(Frame.response(ClientResponse(id: request.id, body: .error(.overloaded,
                    "this connection has \(NodeLimits.clientRequestsInFlightMaximum) requests in flight or \(NodeLimits.clientReplyBytesMaximum >> 20) MiB of replies unread, its bound; retry after some are answered"))))
            }
        case (.unknown, _):
            refuse(context, "the first frame must be a hello")
        default:
            refuse(context, "unexpected frame for a \(role) connection")
        }
    }

    /// A peer connection's outbox and pacer, then the links take it.
    private func becomePeer(_ context: ChannelHandlerContext) {
        guard case .peer(let peer) = role, outbox == nil else { return }
        let outbox = ChannelOutbox(channel: context.channel, bytesMaximum: NodeLimits.peerOutboxBytesMaximum, whenFull: .dropNewest)
        self.outbox = outbox
        let pacer = InboundPacer(channel: context.channel, bytesMaximum: NodeLimits.peerInboundBytesMaximum)
        self.pacer = pacer
        links.attach(outbox, pacer: pacer, peer: peer)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { outbox?.drain() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if case .peer = role {} else { return refuse(context, "idle for \(Connection.clientIdleTimeout)") }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        refuse(context, "\(error)")
    }

    func channelInactive(context: ChannelHandlerContext) {
        helloDeadline?.cancel()
        helloDeadline = nil
        if case .peer(let peer) = role { links.detach(context.channel, peer: peer) }
        context.fireChannelInactive()
    }

    private func refuse(_ context: ChannelHandlerContext, _ reason: String) {
        let remote = context.channel.remoteAddress.map { "\($0)" } ?? "unknown"
        logger.warning("closing connection", metadata: ["remote": "\(remote)", "reason": "\(reason)"])
        context.close(promise: nil)
    }
}
