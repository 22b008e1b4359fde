import Cell
import Credentials
import Logging
import NIOCore
import NIOTLS
import Wire

/// What a client connection's requests are handed to.
protocol RequestRouter: AnyObject, Sendable {
    /// Answers `request` exactly once, through `replies.sendReply`, if `credential` allows it.
    func handle(_ request: ClientRequest, credential: ConnectionCredential, replies: ChannelOutbox)
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

    enum Role { case unknown, peer(NodeID), client(ConnectionCredential) }

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
        // Over TLS, a dialed peer is heard only once its certificate shows it is the member dialed.
        if case .peer = role, links.security == nil { sayHello(context) }
        if case .peer = role, links.security != nil {
            helloDeadline = context.eventLoop.scheduleTask(in: Connection.helloDeadline) { [weak self] in
                guard let self, self.outbox == nil else { return }
                self.refuse(context, "no TLS handshake within \(Connection.helloDeadline)")
            }
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
        case (.unknown, .hello(let hello)) where hello.isClient:
            // A client without credentials stays connected, so that each request
            // gets a typed answer saying what is missing instead of a closed socket.
            role = .client(LinkSecurity.credential(of: context.channel, hello: hello, secured: links.security != nil))
            outbox = ChannelOutbox(channel: context.channel, bytesMaximum: NodeLimits.clientReplyBytesMaximum,
                                   whenFull: .stopReading, requestsInFlightMaximum: NodeLimits.clientRequestsInFlightMaximum)
        case (.unknown, .hello(.peer(let memberID, let fingerprint))):
            guard let peer = links.layout.nodeID(of: memberID), peer != links.layout.me else {
                return refuse(context, "hello from \(memberID.debugDescription), which is not another member of this cluster")
            }
            // Who it is comes before what it says: an impostor learns nothing of this cluster's settings.
            if let refusal = refusalOfIdentity(context, expected: .member(memberID)) {
                return refuse(context, "hello as member \(memberID) refused: \(refusal)")
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
        case (.client(let credential), .request(let request)):
            guard let outbox, let router else { return }
            if outbox.admitRequest() {
                router.handle(request, credential: credential, replies: outbox)
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

    /// This node dialed: it says who it is before anything else leaves.
    private func sayHello(_ context: ChannelHandlerContext) {
        let layout = links.layout
        context.writeAndFlush(wrapOutboundOut(.hello(.peer(memberID: layout.configuration.memberID,
                                                          clusterFingerprint: layout.fingerprint))), promise: nil)
        becomePeer(context)
    }

    /// Over TLS, the other end's certificate must name who it says it is.
    private func refusalOfIdentity(_ context: ChannelHandlerContext, expected: PeerIdentity) -> String? {
        guard links.security != nil else { return nil }
        guard let presented = LinkSecurity.peerIdentity(of: context.channel) else {
            return "\(expected) presented no certificate of the cluster's CA"
        }
        return presented == expected ? nil : "the certificate presented names \(presented), not \(expected)"
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
        if case .peer(let peer) = role, let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            helloDeadline?.cancel()
            helloDeadline = nil
            let member = links.layout.member(peer)
            if let refusal = refusalOfIdentity(context, expected: .member(member.id)) {
                return refuse(context, "dialed member \(member.id) at \(member.address): \(refusal)")
            }
            sayHello(context)
        }
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if case .peer = role {} else { return refuse(context, "idle for \(Connection.clientIdleTimeout)") }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        refuse(context, TLSFailure.reason(error) ?? "\(error)")
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
