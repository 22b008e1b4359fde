import NIOCore
import NIOPosix

/// One TCP connection to a Redis server, speaking RESP2. Requests may be sent
/// from several tasks at once; Redis answers them in order (see
/// ``RedisCommandHandler``). An in-flight request is not abandoned on task
/// cancellation: its reply still comes, and dropping it would hand it to the
/// next request.
public final class RedisConnection: Sendable {
    public let host: String
    public let port: Int
    private let channel: any Channel
    private let requestTimeout: Duration?

    private init(host: String, port: Int, channel: any Channel, requestTimeout: Duration?) {
        self.host = host
        self.port = port
        self.channel = channel
        self.requestTimeout = requestTimeout
    }

    /// Connects with TCP_NODELAY (every request is one small write that waits for its reply).
    /// A request with no reply within `requestTimeout` fails and closes the connection.
    public static func connect(
        host: String, port: Int, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: Duration = .seconds(5), requestTimeout: Duration? = .seconds(10)
    ) async throws -> RedisConnection {
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
                    try pipeline.addHandler(RedisCommandHandler())
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw RedisError.connectFailed(host: host, port: port, reason: describeRedisNetworkError(error))
        }
        // Connecting to a free ephemeral port can make Linux connect the socket to itself
        // (TCP simultaneous open); it would then read back its own commands.
        if let local = channel.localAddress, local == channel.remoteAddress {
            try? await channel.close().get()
            throw RedisError.connectFailed(host: host, port: port, reason: "connection refused (nothing listens there)")
        }
        return RedisConnection(host: host, port: port, channel: channel, requestTimeout: requestTimeout)
    }

    /// Sends one command, its words as bulk strings, and returns the reply. An error reply
    /// throws ``RedisError/errorReply(_:)`` with Redis's message.
    public func send(_ command: [[UInt8]]) async throws -> RESPValue {
        guard !command.isEmpty else { throw RedisError.emptyCommand }
        let channel = self.channel
        var bytes = channel.allocator.buffer(capacity: 0)
        RESPCommandEncoder.encode(command, into: &bytes)
        let reply = channel.eventLoop.makePromise(of: RESPValue.self)
        if let requestTimeout {
            let timer = channel.eventLoop.scheduleTask(in: TimeAmount(requestTimeout)) {
                let name = Self.name(of: command)
                reply.fail(RedisError.timedOut(command: name, after: requestTimeout))
                // Every later reply would be taken for the one before it: the connection is done.
                channel.pipeline.fireErrorCaught(
                    RedisError.connectionClosed(reason: "closed after \(name) had no reply within \(requestTimeout)"))
            }
            reply.futureResult.whenComplete { _ in timer.cancel() }
        }
        channel.writeAndFlush(RedisRequest(bytes: bytes, reply: reply)).whenFailure { error in
            // Usually the handler already failed the reply (a second failure is ignored); closing
            // makes sure no later reply can be paired with this request.
            reply.fail(RedisError.connectionClosed(reason: describeRedisNetworkError(error)))
            channel.close(promise: nil)
        }
        let answer = try await reply.futureResult.get()
        if case .error(let message) = answer { throw RedisError.errorReply(message) }
        return answer
    }

    /// Sends a command written as words, such as `command("CONFIG", "GET", "appendfsync")`.
    public func command(_ words: String...) async throws -> RESPValue {
        try await send(words.map { Array($0.utf8) })
    }

    /// `PING`, expecting `+PONG`.
    public func ping() async throws {
        let reply = try await command("PING")
        guard reply == .simpleString("PONG") else { throw RedisError.unexpectedReply(command: "PING", reply: reply) }
    }

    /// The value of one configuration parameter (`CONFIG GET`), such as "always" for
    /// "appendfsync"; nil when Redis has no such parameter.
    public func configValue(_ parameter: String) async throws -> String? {
        let reply = try await command("CONFIG", "GET", parameter)
        guard case .array(let pairs) = reply, pairs.count.isMultiple(of: 2) else {
            throw RedisError.unexpectedReply(command: "CONFIG GET", reply: reply)
        }
        guard pairs.count >= 2 else { return nil }
        guard case .bulkString(let value) = pairs[1] else {
            throw RedisError.unexpectedReply(command: "CONFIG GET", reply: reply)
        }
        return String(decoding: value, as: UTF8.self)
    }

    /// Closes the connection; requests still waiting fail with ``RedisError/connectionClosed(reason:)``.
    public func close() async {
        try? await channel.close().get()
    }

    /// The command's first word, for messages (the rest may be a large value).
    private static func name(of command: [[UInt8]]) -> String {
        String(decoding: command.first?.prefix(32) ?? [], as: UTF8.self).uppercased()
    }
}
