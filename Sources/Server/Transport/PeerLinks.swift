import Cell
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Wire

/// What the transport hands upward: cell messages and node-pair liveness.
protocol PeerDispatcher: AnyObject, Sendable {
    func deliver(_ envelopes: [CellEnvelope], from peer: NodeID)
    func peerSuspected(_ peer: NodeID)
    func peerReachable(_ peer: NodeID)
}

/// One TCP connection per node pair, carrying every cell's messages both ways.
/// The node with the lower id dials; the other accepts (its ``Listener``
/// attaches the connection after the peer's hello). Heartbeats on it tell each
/// side whether the other is alive, for all their cells at once.
final class PeerLinks: Sendable {
    private struct State {
        var channels: [NodeID: ChannelOutbox] = [:]
        var dialing: Set<NodeID> = []
        var lastHeard: [NodeID: NIODeadline] = [:]
        var suspected: Set<NodeID> = []
        var dispatcher: (any PeerDispatcher)?
        var heartbeatTask: RepeatedTask?
        var stopped = false
    }

    let layout: ClusterLayout
    let group: any EventLoopGroup
    let logger: Logger
    private let state = Mutex(State())
    /// Envelopes per frame: keeps frames far below the frame size limit.
    static let envelopesPerFrame = 512
    /// Bytes per frame, far below the frame limit (a single bigger message still goes alone).
    static let frameBytesTarget = 8 << 20

    init(layout: ClusterLayout, group: any EventLoopGroup, logger: Logger) {
        self.layout = layout
        self.group = group
        self.logger = logger
    }

    var peers: [NodeID] {
        (0..<layout.memberCount).map { NodeID(UInt32($0)) }.filter { $0 != layout.me }
    }

    func start(dispatcher: any PeerDispatcher) {
        let started = NIODeadline.now()
        let interval = TimeAmount.nanoseconds(layout.configuration.heartbeatInterval.nanosecondsValue)
        let task = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [self] _ in
            heartbeatRound()
        }
        state.withLock { state in
            state.dispatcher = dispatcher
            state.heartbeatTask = task
            // Peers count as heard at start: suspicion needs a full timeout of silence.
            for peer in peers { state.lastHeard[peer] = started }
        }
    }

    func stop() {
        let channels = state.withLock { state in
            state.stopped = true
            state.heartbeatTask?.cancel()
            state.heartbeatTask = nil
            defer { state.channels = [:] }
            return state.channels.values.map(\.channel)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    func send(_ envelopes: [CellEnvelope], to peer: NodeID) {
        guard let outbox = state.withLock({ $0.channels[peer] }) else { return }  // consensus retransmits
        var frames: [Frame] = []
        var frame: [CellEnvelope] = []
        var bytes = 0
        for envelope in envelopes {
            let size = envelope.estimatedBytes
            if !frame.isEmpty && (frame.count == Self.envelopesPerFrame || bytes + size > Self.frameBytesTarget) {
                frames.append(Frame.cellMessages(frame))
                frame = []
                bytes = 0
            }
            frame.append(envelope)
            bytes += size
        }
        if !frame.isEmpty { frames.append(Frame.cellMessages(frame)) }
        outbox.send(frames)
    }

    /// Any frame from a peer proves it alive.
    /// Suspicion and recovery reach the shards in the order they happened: both
    /// are dispatched under the lock (dispatching only enqueues on the shards' loops).
    func heard(_ peer: NodeID) {
        let back = state.withLock { state -> Bool in
            state.lastHeard[peer] = NIODeadline.now()
            guard state.suspected.remove(peer) != nil else { return false }
            state.dispatcher?.peerReachable(peer)
            return true
        }
        if back { logger.info("peer is back", metadata: ["peer": "\(layout.member(peer).id)"]) }
    }

    func attach(_ channel: any Channel, peer: NodeID) {
        let (stopped, replaced) = state.withLock { state -> (Bool, (any Channel)?) in
            guard !state.stopped else { return (true, nil) }
            defer { state.channels[peer] = ChannelOutbox(channel: channel) }
            return (false, state.channels[peer]?.channel)
        }
        guard !stopped else { return channel.close(promise: nil) }
        if let replaced, replaced !== channel { replaced.close(promise: nil) }
        heard(peer)
        logger.info("peer connected", metadata: ["peer": "\(layout.member(peer).id)"])
        // A new connection may be a restarted peer: leaders start its catch-up now
        // (unless it is suspected again meanwhile: then it waits for the next recovery).
        state.withLock { state in
            if !state.suspected.contains(peer) { state.dispatcher?.peerReachable(peer) }
        }
    }

    func detach(_ channel: any Channel, peer: NodeID) {
        let removed = state.withLock { state -> Bool in
            guard let current = state.channels[peer]?.channel, current === channel else { return false }
            state.channels[peer] = nil
            return true
        }
        if removed { logger.info("peer disconnected", metadata: ["peer": "\(layout.member(peer).id)"]) }
    }

    var suspectedPeers: [NodeID] { state.withLock { $0.suspected.sorted() } }

    private func heartbeatRound() {
        let now = NIODeadline.now()
        let timeout = TimeAmount.nanoseconds(layout.configuration.suspicionTimeout.nanosecondsValue)
        let (channels, newlySuspected, toDial) = state.withLock { state in
            var newlySuspected: [NodeID] = []
            for peer in peers where !state.suspected.contains(peer) {
                if let heard = state.lastHeard[peer], now - heard > timeout {
                    state.suspected.insert(peer)
                    newlySuspected.append(peer)
                    state.dispatcher?.peerSuspected(peer)
                }
            }
            let toDial = state.stopped ? [] : peers.filter { peer in
                peer > layout.me && state.channels[peer] == nil && !state.dialing.contains(peer)
            }
            for peer in toDial { state.dialing.insert(peer) }
            return (state.channels.values.map(\.channel), newlySuspected, toDial)
        }
        for channel in channels { channel.writeAndFlush(Frame.heartbeat, promise: nil) }
        for peer in newlySuspected {
            logger.warning("peer suspected down", metadata: ["peer": "\(layout.member(peer).id)"])
        }
        for peer in toDial { dial(peer) }
    }

    private func dial(_ peer: NodeID) {
        let member = layout.member(peer)
        guard let (host, port) = try? NodeAddress.parse(member.address) else {
            logger.error("peer address is not HOST:PORT", metadata: ["peer": "\(member.id)", "address": "\(member.address)"])
            return
        }
        let hello = Frame.hello(.peer(memberID: layout.configuration.memberID, clusterFingerprint: layout.fingerprint))
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(500))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(Connection.handlers(
                        ConnectionHandler(role: .peer(peer), links: self, router: nil, logger: logger)))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { [self] result in
                state.withLock { _ = $0.dialing.remove(peer) }
                if case .success(let channel) = result {
                    guard !channel.isConnectedToItself else { return channel.close(promise: nil) }
                    channel.writeAndFlush(hello, promise: nil)
                    attach(channel, peer: peer)
                }
            }
    }

    /// Hands incoming cell messages to the shards.
    func deliver(_ envelopes: [CellEnvelope], from peer: NodeID) {
        state.withLock { $0.dispatcher }?.deliver(envelopes, from: peer)
    }
}
