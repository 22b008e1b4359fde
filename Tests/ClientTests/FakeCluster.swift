import NIOCore
import NIOPosix
import Synchronization
import Wire

/// In-process fake nodes speaking the client protocol on 127.0.0.1, each
/// answering requests as a test's script says. They check that every
/// connection opens with `hello(.client)` and record every request.
final class FakeCluster: Sendable {
    enum Reply: Sendable {
        case answer(ClientResponse.Body)
        case answerAfter(Duration, ClientResponse.Body)
        /// Never answer (the client's attempt times out).
        case silence
        /// Close the connection without answering.
        case close
    }

    /// Decides a reply: (member id, request, how many requests of this kind the cluster saw before it).
    typealias Script = @Sendable (_ member: String, _ request: ClientRequest.Body, _ earlier: Int) -> Reply

    struct Received: Sendable {
        var member: String
        var body: ClientRequest.Body
    }

    private struct State: Sendable {
        var info: ClusterInfo?
        var script: Script
        var received: [Received] = []
        var violations: [String] = []
        var servers: [String: any Channel] = [:]
        var connections: [String: [any Channel]] = [:]
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let state: Mutex<State>
    let memberIDs: [String]

    private init(memberIDs: [String], script: @escaping Script) {
        self.memberIDs = memberIDs
        state = Mutex(State(script: script))
    }

    /// Starts `count` nodes `node-1`…; cluster info is answered by the harness.
    static func start(
        count: Int = 3, cellDepth: UInt8 = 8, replicas: UInt8 = 3,
        script: @escaping Script = { _, _, _ in .answer(.error(.internalError, "no script")) }
    ) async throws -> FakeCluster {
        let ids = (1...count).map { "node-\($0)" }
        let cluster = FakeCluster(memberIDs: ids, script: script)
        var members: [ClusterInfo.MemberInfo] = []
        for (index, id) in ids.enumerated() {
            let server = try await cluster.listen(as: id)
            let port = server.localAddress!.port!
            members.append(.init(id: id, address: "127.0.0.1:\(port)", zone: "zone-\(index % 3)", weight: 1))
        }
        cluster.state.withLock {
            $0.info = ClusterInfo(members: members, cellDepth: cellDepth, replicas: replicas, placementForm: "hierarchical")
        }
        return cluster
    }

    var info: ClusterInfo { state.withLock { $0.info! } }
    var endpoints: [String] { info.members.map(\.address) }
    var received: [Received] { state.withLock { $0.received } }
    var violations: [String] { state.withLock { $0.violations } }

    func setScript(_ script: @escaping Script) { state.withLock { $0.script = script } }

    func setInfo(_ info: ClusterInfo) { state.withLock { $0.info = info } }

    /// Requests other than cluster info, in arrival order.
    var operations: [Received] {
        received.filter { if case .clusterInfo = $0.body { false } else { true } }
    }

    /// Stops one node: its listener and its open connections close (later connects are refused).
    func stop(_ member: String) async {
        let (server, connections) = state.withLock { state in
            (state.servers.removeValue(forKey: member), state.connections.removeValue(forKey: member) ?? [])
        }
        for channel in connections { try? await channel.close().get() }
        try? await server?.close().get()
    }

    func shutdown() async {
        for member in memberIDs { await stop(member) }
        try? await group.shutdownGracefully()
    }

    private func listen(as member: String) async throws -> any Channel {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                self.state.withLock { $0.connections[member, default: []].append(channel) }
                do {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                    try sync.addHandler(FakeNodeHandler(member: member, cluster: self))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        state.withLock { $0.servers[member] = server }
        return server
    }

    func violation(_ text: String) { state.withLock { $0.violations.append(text) } }

    func reply(to body: ClientRequest.Body, at member: String) -> Reply {
        let (info, script, earlier): (ClusterInfo?, Script, Int) = state.withLock { state in
            let earlier = state.received.filter { Self.sameKind($0.body, body) }.count
            state.received.append(Received(member: member, body: body))
            return (state.info, state.script, earlier)
        }
        if case .clusterInfo = body, let info { return .answer(.clusterInfo(info)) }
        return script(member, body, earlier)
    }

    private static func sameKind(_ lhs: ClientRequest.Body, _ rhs: ClientRequest.Body) -> Bool {
        switch (lhs, rhs) {
        case (.write, .write), (.get, .get), (.query, .query), (.clusterInfo, .clusterInfo), (.nodeStatus, .nodeStatus): true
        default: false
        }
    }
}

final class FakeNodeHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private let member: String
    private let cluster: FakeCluster
    private var greeted = false

    init(member: String, cluster: FakeCluster) {
        self.member = member
        self.cluster = cluster
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard greeted else {
            if case .hello(.client) = frame {
                greeted = true
            } else {
                cluster.violation("\(member): first frame was \(frame), not hello(.client)")
                context.close(promise: nil)
            }
            return
        }
        guard case .request(let request) = frame else {
            cluster.violation("\(member): unexpected frame \(frame)")
            return
        }
        switch cluster.reply(to: request.body, at: member) {
        case .answer(let body):
            context.writeAndFlush(wrapOutboundOut(.response(ClientResponse(id: request.id, body: body))), promise: nil)
        case .answerAfter(let delay, let body):
            let channel = context.channel
            context.eventLoop.scheduleTask(in: TimeAmount(delay)) {
                channel.writeAndFlush(Frame.response(ClientResponse(id: request.id, body: body)), promise: nil)
            }
        case .silence:
            break
        case .close:
            context.close(promise: nil)
        }
    }
}
