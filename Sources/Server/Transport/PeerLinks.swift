import Cell
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Wire

/// What the transport hands upward: cell messages and node-pair liveness.
protocol PeerDispatcher: AnyObject, Sendable {
    /// Steps the envelopes, then tells `pacer` their bytes were processed.
    func deliver(_ envelopes: [CellEnvelope], from peer: NodeID, pacer: InboundPacer)
    /// Hands a snapshot chunk or progress report to its cell's shard, then tells `pacer`.
    func deliver(_ transfer: SnapshotTransfer, from peer: NodeID, pacer: InboundPacer)
    func peerSuspected(_ peer: NodeID)
    func peerReachable(_ peer: NodeID)
}

/// One TCP connection per node pair, carrying every cell's messages both ways.
/// The node with the lower id dials; the other accepts (its listener attaches
/// the connection after the peer's hello). Heartbeats on it, and every byte
/// that arrives, tell each side whether the other is alive, for all their
/// cells at once.
///
/// A suspected peer's connection is closed, on both sides: a connection that
/// stalled through a partition would otherwise wait out the kernel's
/// retransmission backoff (26 s after a 30 s cut) before anything flowed
/// again. The dialing side redials every heartbeat, so a link is back within
/// a connect of the partition healing, however long it lasted.
final class PeerLinks: Sendable {
    private struct State {
        var outboxes: [NodeID: ChannelOutbox] = [:]
        var pacers: [NodeID: InboundPacer] = [:]
        var attachedAt: [NodeID: Instant] = [:]
        var dialing: Set<NodeID> = []
        var detectors: [NodeID: FailureDetector] = [:]
        var suspected: Set<NodeID> = []
        var dispatcher: (any PeerDispatcher)?
        var heartbeatTask: RepeatedTask?
        var lastRoundAt: Instant?
        var stopped = false
    }

    let layout: ClusterLayout
    let group: any EventLoopGroup
    let logger: Logger
    /// TLS for every link, or nil for plaintext.
    let security: LinkSecurity?
    /// Heartbeats and failure detection run on a thread of their own, so that
    /// a shard busy with a large apply or catch-up cannot delay them.
    private let heartbeatGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let state = Mutex(State())
    /// Envelopes per frame: keeps frames far below the frame size limit.
    static let envelopesPerFrame = 512
    /// Bytes per frame, far below the frame limit (a single bigger message still goes alone).
    static let frameBytesTarget = 8 << 20
    /// The failure detector's timeout never exceeds this many times the configured one.
    static let suspicionTimeoutGrowthMaximum: Int64 = 6

    init(layout: ClusterLayout, group: any EventLoopGroup, logger: Logger, security: LinkSecurity?) {
        self.layout = layout
        self.group = group
        self.logger = logger
        self.security = security
    }

    var peers: [NodeID] {
        (0..<layout.memberCount).map { NodeID(UInt32($0)) }.filter { $0 != layout.me }
    }

    static func now() -> Instant { Instant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds)) }

    func start(dispatcher: any PeerDispatcher) {
        let started = Self.now()
        let configuration = layout.configuration
        let interval = TimeAmount.nanoseconds(configuration.heartbeatInterval.nanosecondsValue)
        let maximum = Duration.nanoseconds(configuration.suspicionTimeout.nanosecondsValue * Self.suspicionTimeoutGrowthMaximum)
        state.withLock { state in
            state.dispatcher = dispatcher
            // Peers count as heard at start: suspicion needs a full timeout of silence.
            for peer in peers {
                state.detectors[peer] = FailureDetector(
                    timeoutMinimum: configuration.suspicionTimeout, timeoutMaximum: maximum, now: started)
            }
        }
        let task = heartbeatGroup.next().scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [self] _ in
            heartbeatRound()
        }
        state.withLock { $0.heartbeatTask = task }
    }

    func stop() async {
        let outboxes = state.withLock { state in
            state.stopped = true
            state.heartbeatTask?.cancel()
            state.heartbeatTask = nil
            defer { state.outboxes = [:] }
            return Array(state.outboxes.values)
        }
        for outbox in outboxes { outbox.channel.close(promise: nil) }
        try? await heartbeatGroup.shutdownGracefully()
    }

    func send(_ envelopes: [CellEnvelope], to peer: NodeID) {
        guard let outbox = state.withLock({ $0.outboxes[peer] }) else { return }  // consensus retransmits
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
        // A full outbox drops them: the peer is not reading, and consensus resends what it still lacks.
        outbox.send(frames)
    }

    /// A snapshot chunk or progress report; lost if the outbox is full or the
    /// peer unconnected (the stream resends from what the receiver confirmed).
    func send(_ transfer: SnapshotTransfer, to peer: NodeID) {
        guard let outbox = state.withLock({ $0.outboxes[peer] }) else { return }
        _ = outbox.send(Frame.snapshotTransfer(transfer))
    }

    /// Any bytes from a peer prove it alive.
    /// Suspicion and recovery reach the shards in the order they happened: both
    /// are dispatched under the lock (dispatching only enqueues on the shards' loops).
    func heard(_ peer: NodeID) {
        let now = Self.now()
        let back = state.withLock { state -> Bool in
            state.detectors[peer]?.heard(at: now)
            guard state.suspected.remove(peer) != nil else { return false }
            state.detectors[peer]?.recovered(at: now)
            state.dispatcher?.peerReachable(peer)
            return true
        }
        if back { logger.info("peer is back", metadata: ["peer": "\(layout.member(peer).id)"]) }
    }

    func attach(_ outbox: ChannelOutbox, pacer: InboundPacer, peer: NodeID) {
        let now = Self.now()
        let (stopped, replaced) = state.withLock { state -> (Bool, (any Channel)?) in
            guard !state.stopped else { return (true, nil) }
            defer {
                state.outboxes[peer] = outbox
                state.pacers[peer] = pacer
                state.attachedAt[peer] = now
            }
            return (false, state.outboxes[peer]?.channel)
        }
        guard !stopped else { return outbox.channel.close(promise: nil) }
        if let replaced, replaced !== outbox.channel { replaced.close(promise: nil) }
        logger.info("peer connected", metadata: ["peer": "\(layout.member(peer).id)"])
        // A new connection may be a restarted peer: leaders start its catch-up now
        // (unless it is suspected again meanwhile: then it waits for the next recovery).
        state.withLock { state in
            if !state.suspected.contains(peer) { state.dispatcher?.peerReachable(peer) }
        }
    }

    func detach(_ channel: any Channel, peer: NodeID) {
        let removed = state.withLock { state -> Bool in
            guard let current = state.outboxes[peer]?.channel, current === channel else { return false }
            state.outboxes[peer] = nil
            state.pacers[peer] = nil
            return true
        }
        if removed { logger.info("peer disconnected", metadata: ["peer": "\(layout.member(peer).id)"]) }
    }

    var suspectedPeers: [NodeID] { state.withLock { $0.suspected.sorted() } }

    private func heartbeatRound() {
        let now = Self.now()
        let interval = layout.configuration.heartbeatInterval
        let (outboxes, newlySuspected, toDial) = state.withLock { state in
            // A round that ran far behind its schedule means this process could
            // not run (busy cores, a pause): silence it could not have seen end
            // is not held against the peers.
            if let last = state.lastRoundAt, now - last > interval + layout.configuration.suspicionTimeout / 2 {
                for peer in peers { state.detectors[peer]?.forgive(stalledUntil: now) }
            }
            state.lastRoundAt = now
            // While this node has stopped reading a peer (its shards are behind), the peer's silence is this node's.
            for (peer, pacer) in state.pacers where pacer.isPaused { state.detectors[peer]?.forgive(stalledUntil: now) }
            var newlySuspected: [(NodeID, Duration, (any Channel)?)] = []
            for peer in peers where !state.suspected.contains(peer) {
                guard let detector = state.detectors[peer], detector.isSuspect(at: now) else { continue }
                state.suspected.insert(peer)
                state.pacers[peer] = nil
                newlySuspected.append((peer, detector.timeout, state.outboxes.removeValue(forKey: peer)?.channel))
                state.dispatcher?.peerSuspected(peer)
            }
            // A link made while the peer is suspected that has carried nothing for a
            // whole timeout is as dead as the last one: closed, to be redialled.
            for peer in state.suspected {
                guard let detector = state.detectors[peer], let attached = state.attachedAt[peer], state.outboxes[peer] != nil,
                    detector.lastHeard < attached, now - attached > detector.timeout else { continue }
                state.pacers[peer] = nil
                newlySuspected.append((peer, detector.timeout, state.outboxes.removeValue(forKey: peer)?.channel))
            }
            let toDial = state.stopped ? [] : peers.filter { peer in
                peer > layout.me && state.outboxes[peer] == nil && !state.dialing.contains(peer)
            }
            for peer in toDial { state.dialing.insert(peer) }
            return (Array(state.outboxes.values), newlySuspected, toDial)
        }
        // A channel whose socket is full is carrying bytes already; those prove this node alive.
        for outbox in outboxes where outbox.channel.isWritable {
            outbox.channel.writeAndFlush(Frame.heartbeat, promise: nil)
        }
        for (peer, timeout, channel) in newlySuspected {
            logger.warning("peer suspected down; closing its connection to redial", metadata: [
                "peer": "\(layout.member(peer).id)", "silentFor": "\(now - (state.withLock { $0.detectors[peer]?.lastHeard } ?? now))",
                "timeout": "\(timeout)"])
            channel?.close(promise: nil)
        }
        for peer in toDial { dial(peer) }
    }

    private func dial(_ peer: NodeID) {
        let member = layout.member(peer)
        guard let (host, port) = try? NodeAddress.parse(member.address) else {
            logger.error("peer address is not HOST:PORT", metadata: ["peer": "\(member.id)", "address": "\(member.address)"])
            return
        }
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(500))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let security {
                        // The peer's name is checked against its member id once the handshake is done.
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: security.clientContext, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandlers(Connection.handlers(
                        ConnectionHandler(role: .peer(peer), links: self, router: nil, logger: logger)))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { [self] result in
                state.withLock { _ = $0.dialing.remove(peer) }
                if case .success(let channel) = result, channel.isConnectedToItself { channel.close(promise: nil) }
            }
    }

    /// Hands incoming cell messages to the shards.
    func deliver(_ envelopes: [CellEnvelope], from peer: NodeID, pacer: InboundPacer) {
        guard let dispatcher = state.withLock({ $0.dispatcher }) else { return }
        dispatcher.deliver(envelopes, from: peer, pacer: pacer)
    }

    /// Hands an incoming snapshot chunk or progress report to its shard.
    func deliver(_ transfer: SnapshotTransfer, from peer: NodeID, pacer: InboundPacer) {
        guard let dispatcher = state.withLock({ $0.dispatcher }) else { return }
        dispatcher.deliver(transfer, from: peer, pacer: pacer)
    }
}
