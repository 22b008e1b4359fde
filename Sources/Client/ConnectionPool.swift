import NIOCore
import NIOPosix
import NIOSSL
import Credentials
import Synchronization
import Wire

/// One connection per node address, opened on first use and shared by all
/// calls. A closed connection is dropped, so the next call reconnects;
/// concurrent first calls share one connect.
final class ConnectionPool: Sendable {
    private enum Entry: Sendable {
        case connecting(EventLoopFuture<NodeConnection>, generation: UInt64)
        case ready(NodeConnection)
    }

    private struct State: Sendable {
        var entries: [Endpoint: Entry] = [:]
        var generation: UInt64 = 0
        var shutDown = false
    }

    private let group: any EventLoopGroup
    private let connectTimeout: Duration
    /// Made once from the client's credentials; nil for plaintext.
    private let tlsContext: NIOSSLContext?
    /// What each connection opens with: who this client is.
    private let hello: Hello
    private let state = Mutex(State())

    init(group: any EventLoopGroup, connectTimeout: Duration, tls: TLSCredentials?, accessKey: AccessKey?) throws {
        self.group = group
        self.connectTimeout = connectTimeout
        tlsContext = try tls?.clientContext()
        hello = accessKey.map { .clientWithAccessKey(id: $0.id, secret: $0.secret) } ?? .client
    }

    /// Whether a connection to `endpoint` is open now (none is made).
    func hasOpenConnection(to endpoint: Endpoint) -> Bool {
        state.withLock { state in
            if case .ready(let connection) = state.entries[endpoint] { return !connection.isClosed }
            return false
        }
    }

    /// The open connection to `endpoint`, connecting if there is none. Throws a
    /// ``TransportFailure`` of kind `.connect` when no connection can be made.
    func connection(to endpoint: Endpoint) async throws -> NodeConnection {
        enum Step {
            case ready(NodeConnection)
            case wait(EventLoopFuture<NodeConnection>)
            case start(EventLoopPromise<NodeConnection>, generation: UInt64)
            case shutDown
        }
        let step: Step = state.withLock { state in
            if state.shutDown { return .shutDown }
            switch state.entries[endpoint] {
            case .ready(let connection) where !connection.isClosed:
                return .ready(connection)
            case .connecting(let future, _):
                return .wait(future)
            case .ready, nil:
                state.generation += 1
                let promise = group.next().makePromise(of: NodeConnection.self)
                state.entries[endpoint] = .connecting(promise.futureResult, generation: state.generation)
                return .start(promise, generation: state.generation)
            }
        }
        switch step {
        case .shutDown:
            throw TransportFailure.connect("the client is closed")
        case .ready(let connection):
            return connection
        case .wait(let future):
            return try await future.get()
        case .start(let promise, let generation):
            connect(endpoint, generation: generation, promise: promise)
            return try await promise.futureResult.get()
        }
    }

    private func connect(_ endpoint: Endpoint, generation: UInt64, promise: EventLoopPromise<NodeConnection>) {
        let pending = PendingRequests()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [tlsContext] channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    if let tlsContext {
                        try sync.addHandler(try NIOSSLClientHandler(context: tlsContext, serverHostname: nil))
                        try sync.addHandler(MemberCertificateCheck(endpoint: endpoint))
                    }
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                    try sync.addHandler(ResponseHandler(pending: pending))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        bootstrap.connect(host: endpoint.host, port: endpoint.port)
            .flatMap { (channel: any Channel) -> EventLoopFuture<NodeConnection> in
                guard !channel.isConnectedToItself else {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(
                        TransportFailure.connect("connection refused (nothing listens at \(endpoint))"))
                }
                // The hello goes out before any request can: the connection is
                // handed out only once this write is done, which with TLS is after
                // the handshake. A node that accepts but never answers (stopped,
                // overloaded) must not hold the call past the connect timeout.
                let handshakeTimedOut = HandshakeFlag()
                let timeout = self.connectTimeout
                let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                    handshakeTimedOut.set()
                    channel.close(promise: nil)
                }
                return channel.writeAndFlush(Frame.hello(self.hello))
                    .map {
                        deadline.cancel()
                        return NodeConnection(endpoint: endpoint, channel: channel, pending: pending)
                    }
                    .flatMapErrorThrowing { error in
                        deadline.cancel()
                        channel.close(promise: nil)
                        guard handshakeTimedOut.isSet else { throw error }
                        throw TransportFailure.connect(
                            "\(endpoint) accepted the connection but did not finish the handshake within \(timeout.readable)")
                    }
            }
            .whenComplete { result in
                switch result {
                case .success(let connection):
                    let keep = self.state.withLock { state -> Bool in
                        guard !state.shutDown else { return false }
                        if case .connecting(_, let current) = state.entries[endpoint], current == generation {
                            state.entries[endpoint] = .ready(connection)
                        }
                        return true
                    }
                    guard keep else {
                        connection.channel.close(promise: nil)
                        promise.fail(TransportFailure.connect("the client is closed"))
                        return
                    }
                    connection.channel.closeFuture.whenComplete { _ in self.drop(connection) }
                    promise.succeed(connection)
                case .failure(let error):
                    self.state.withLock { state in
                        if case .connecting(_, let current) = state.entries[endpoint], current == generation {
                            state.entries[endpoint] = nil
                        }
                    }
                    promise.fail(error as? TransportFailure ?? TransportFailure.connect(describeNetworkError(error)))
                }
            }
    }

    private func drop(_ connection: NodeConnection) {
        state.withLock { state in
            if case .ready(let current) = state.entries[connection.endpoint], current === connection {
                state.entries[connection.endpoint] = nil
            }
        }
    }

    /// Closes every connection and refuses new ones; requests in flight fail.
    func shutdown() async {
        let entries = state.withLock { state -> [Entry] in
            state.shutDown = true
            defer { state.entries.removeAll() }
            return Array(state.entries.values)
        }
        for entry in entries {
            switch entry {
            case .ready(let connection):
                await connection.close()
            case .connecting(let future, _):
                if let connection = try? await future.get() { await connection.close() }
            }
        }
    }
}

/// Set once by the connect deadline, read by the connect's failure path.
private final class HandshakeFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
