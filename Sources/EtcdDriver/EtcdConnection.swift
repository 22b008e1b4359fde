import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

/// One HTTP/2 connection (h2c with prior knowledge, or h2 over TLS) to one etcd member. Each
/// unary call gets a stream of its own, so any number of calls may be in
/// flight at once. When the connection is lost, every pending call fails
/// with ``EtcdCallError/connectionClosed(endpoint:method:reason:)``; the
/// connection does not reconnect.
public final class EtcdConnection: Sendable {
    /// The gRPC paths of the methods the driver calls.
    enum Method {
        static let put = "/etcdserverpb.KV/Put"
        static let range = "/etcdserverpb.KV/Range"
        static let status = "/etcdserverpb.Maintenance/Status"
    }

    /// The largest response message accepted; etcd's own default request limit is 1.5 MiB.
    public static let defaultMaxMessageSize = 4 * 1024 * 1024

    public let endpoint: String
    public let callTimeout: Duration
    public let maxMessageSize: Int
    private let channel: any Channel
    private let handler: NIOLoopBound<GRPCConnectionHandler>
    private let queue: GRPCCallQueue
    private let ending: EtcdConnectionEnding
    // Built once per connection: a call's headers are a copy of these, no allocation.
    private let putHeaders: HTTP2Frame.FramePayload
    private let rangeHeaders: HTTP2Frame.FramePayload
    private let statusHeaders: HTTP2Frame.FramePayload

    private init(endpoint: String, connected: ConnectedChannel, callTimeout: Duration, maxMessageSize: Int, secured: Bool) {
        self.endpoint = endpoint
        channel = connected.channel
        handler = connected.handler
        queue = connected.queue
        ending = connected.ending
        self.callTimeout = callTimeout
        self.maxMessageSize = maxMessageSize
        let scheme = secured ? "https" : "http"
        putHeaders = Self.requestHeaders(path: Method.put, authority: endpoint, scheme: scheme)
        rangeHeaders = Self.requestHeaders(path: Method.range, authority: endpoint, scheme: scheme)
        statusHeaders = Self.requestHeaders(path: Method.status, authority: endpoint, scheme: scheme)
    }

    /// Opens a connection to `endpoint` ("host:port"), over TLS with `tls`
    /// (a client context that offers ALPN "h2", see ``EtcdTLS``).
    public static func connect(
        to endpoint: String, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: Duration = .seconds(5), callTimeout: Duration = .seconds(10),
        maxMessageSize: Int = defaultMaxMessageSize, tls: NIOSSLContext? = nil
    ) async throws -> EtcdConnection {
        let address = try EtcdEndpoint(parsing: endpoint)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        let connected: ConnectedChannel
        do {
            connected = try await bootstrap.connect(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil)) }
                    return try configure(channel)
                }
            }
        } catch ChannelError.connectTimeout {
            throw EtcdCallError.connectTimedOut(endpoint: endpoint, after: connectTimeout)
        } catch {
            throw EtcdCallError.connectFailed(endpoint: endpoint, reason: "\(error)")
        }
        return EtcdConnection(
            endpoint: endpoint, connected: connected, callTimeout: callTimeout, maxMessageSize: maxMessageSize,
            secured: tls != nil)
    }

    private struct ConnectedChannel: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<GRPCConnectionHandler>
        let queue: GRPCCallQueue
        let ending: EtcdConnectionEnding
    }

    /// NIO's HTTP/2 handler without a stream multiplexer (frames go to the
    /// gRPC handler as they are), then the gRPC handler.
    private static func configure(_ channel: any Channel) throws -> ConnectedChannel {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            // Streams never run out of credit, so they need no WINDOW_UPDATE of their own.
            HTTP2Setting(parameter: .initialWindowSize, value: GRPCConnectionHandler.maxWindow),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
        ]
        // gRPC-Go servers (etcd's) send a BDP-estimation PING with many responses:
        // NIO's default limit, 200 PINGs per 30 s, would end the connection within
        // a second of load. The peer is a server under test, not an attacker.
        connection.controlFrameRateLimit.maximumCount = 10_000
        connection.controlFrameRateLimit.windowLength = .milliseconds(100)
        // The request headers are valid by construction and only :status and grpc-* are read
        // back: checking every header block costs several percent of the client's CPU.
        connection.headerBlockValidation = .disabled
        let queue = GRPCCallQueue()
        let ending = EtcdConnectionEnding()
        let handler = GRPCConnectionHandler(queue: queue, ending: ending)
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(NIOHTTP2Handler(mode: .client, connectionConfiguration: connection))
        try operations.addHandler(handler)
        return ConnectedChannel(
            channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), queue: queue, ending: ending)
    }

    /// Whether the connection is still up; a closed one stays closed.
    public var isActive: Bool { channel.isActive }

    /// KV/Put of `value` under `key` (as UTF-8); returns once etcd committed it.
    public func put(key: String, value: [UInt8]) async throws {
        let message = try await unaryCall(Method.put, headers: putHeaders, capacity: key.utf8.count + value.count + 16) {
            EtcdRequestEncoding.writePutRequest(key: key, value: value, to: &$0)
        }
        do { _ = try EtcdResponseDecoding.decodePutResponse(message) } catch {
            throw EtcdCallError.malformedMessage(endpoint: endpoint, method: Method.put, error: error)
        }
    }

    /// KV/Range of the single key `key`: true when etcd holds a value for it.
    /// Serializable reads answer from this member's state without a ReadIndex round.
    public func get(key: String, serializable: Bool) async throws -> Bool {
        let message = try await unaryCall(Method.range, headers: rangeHeaders, capacity: key.utf8.count + 16) {
            EtcdRequestEncoding.writeRangeRequest(key: key, serializable: serializable, to: &$0)
        }
        do { return try EtcdResponseDecoding.decodeRangeResponse(message).found } catch {
            throw EtcdCallError.malformedMessage(endpoint: endpoint, method: Method.range, error: error)
        }
    }

    /// Maintenance/Status: this member's id and the leader it knows of.
    public func status() async throws -> EtcdMemberStatus {
        let message = try await unaryCall(Method.status, headers: statusHeaders, capacity: 8) { _ in }
        do { return try EtcdResponseDecoding.decodeStatusResponse(message) } catch {
            throw EtcdCallError.malformedMessage(endpoint: endpoint, method: Method.status, error: error)
        }
    }

    public func close() async {
        ending.record("closed by the client")
        try? await channel.close().get()
    }

    /// Sends one request message on a new stream and returns the response message.
    private func unaryCall(
        _ method: String, headers: HTTP2Frame.FramePayload, capacity: Int, _ writeRequest: (inout ByteBuffer) -> Void
    ) async throws -> ByteBuffer {
        guard channel.isActive else {
            throw EtcdCallError.connectionClosed(endpoint: endpoint, method: method, reason: ending.description)
        }
        var request = channel.allocator.buffer(capacity: capacity + GRPCMessageFraming.prefixLength)
        GRPCMessageFraming.writeMessage(to: &request, writeRequest)
        let call = GRPCCallDescription(
            endpoint: endpoint, method: method, timeout: callTimeout, maxMessageSize: maxMessageSize)
        return try await queue.call(call, headers: headers, request: request, handler: handler, eventLoop: channel.eventLoop)
    }

    private static func requestHeaders(path: String, authority: String, scheme: String) -> HTTP2Frame.FramePayload {
        .headers(
            .init(headers: [
                ":method": "POST", ":scheme": scheme, ":path": path, ":authority": authority,
                "content-type": "application/grpc", "te": "trailers",
            ]))
    }
}
