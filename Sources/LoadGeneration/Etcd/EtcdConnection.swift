import NIOCore
import NIOHTTP2
import NIOPosix

/// One HTTP/2 connection (h2c, prior knowledge) to one etcd member. Each
/// unary call opens its own stream on it, so any number of calls may be in
/// flight at once. When the connection is lost, every pending call fails
/// with ``EtcdCallError/connectionClosed(endpoint:method:)``; the connection
/// does not reconnect.
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
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    // Built once per connection: a call's headers are a copy of these, no allocation.
    private let putHeaders: HTTP2Frame.FramePayload
    private let rangeHeaders: HTTP2Frame.FramePayload
    private let statusHeaders: HTTP2Frame.FramePayload

    private init(
        endpoint: String, channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer, callTimeout: Duration,
        maxMessageSize: Int
    ) {
        self.endpoint = endpoint
        self.channel = channel
        self.multiplexer = multiplexer
        self.callTimeout = callTimeout
        self.maxMessageSize = maxMessageSize
        putHeaders = Self.requestHeaders(path: Method.put, authority: endpoint)
        rangeHeaders = Self.requestHeaders(path: Method.range, authority: endpoint)
        statusHeaders = Self.requestHeaders(path: Method.status, authority: endpoint)
    }

    /// Opens a connection to `endpoint` ("host:port").
    public static func connect(
        to endpoint: String, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: Duration = .seconds(5), callTimeout: Duration = .seconds(10),
        maxMessageSize: Int = defaultMaxMessageSize
    ) async throws -> EtcdConnection {
        let address = try EtcdEndpoint(parsing: endpoint)
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        // A larger window than HTTP/2's 64 KiB saves WINDOW_UPDATE round trips under load.
        connection.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
        ]
        connection.targetWindowSize = 8 << 20
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = 1 << 20
        let (connectionConfiguration, streamConfiguration) = (connection, stream)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        let connected: ConnectedChannel
        do {
            connected = try await bootstrap.connect(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: connectionConfiguration,
                        streamConfiguration: streamConfiguration,
                        // Push is off, so the server opens no streams; refuse any all the same.
                        inboundStreamInitializer: { $0.close() })
                    return ConnectedChannel(channel: channel, multiplexer: multiplexer)
                }
            }
        } catch ChannelError.connectTimeout {
            throw EtcdCallError.connectTimedOut(endpoint: endpoint, after: connectTimeout)
        } catch {
            throw EtcdCallError.connectFailed(endpoint: endpoint, reason: "\(error)")
        }
        return EtcdConnection(
            endpoint: endpoint, channel: connected.channel, multiplexer: connected.multiplexer,
            callTimeout: callTimeout, maxMessageSize: maxMessageSize)
    }

    private struct ConnectedChannel: Sendable {
        let channel: any Channel
        let multiplexer: NIOHTTP2Handler.StreamMultiplexer
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
        try? await channel.close().get()
    }

    /// Sends one request message on a new stream and returns the response message.
    private func unaryCall(
        _ method: String, headers: HTTP2Frame.FramePayload, capacity: Int, _ writeRequest: (inout ByteBuffer) -> Void
    ) async throws -> ByteBuffer {
        let channel = self.channel
        let endpoint = self.endpoint
        guard channel.isActive else { throw EtcdCallError.connectionClosed(endpoint: endpoint, method: method) }
        var request = channel.allocator.buffer(capacity: capacity + GRPCMessageFraming.prefixLength)
        GRPCMessageFraming.writeMessage(to: &request, writeRequest)
        let framedRequest = request
        let call = GRPCCallDescription(
            endpoint: endpoint, method: method, timeout: callTimeout, maxMessageSize: maxMessageSize)
        let response = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let opened = channel.eventLoop.makePromise(of: (any Channel).self)
        // Until its handler is added, nothing else would complete the call if the stream fails to open.
        opened.futureResult.whenFailure { error in
            response.fail(
                channel.isActive
                    ? EtcdCallError.streamClosed(endpoint: endpoint, method: method, reason: "stream not opened: \(error)")
                    : EtcdCallError.connectionClosed(endpoint: endpoint, method: method))
        }
        multiplexer.createStreamChannel(promise: opened) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(
                    GRPCUnaryCallHandler(call: call, requestHeaders: headers, request: framedRequest, response: response))
            }
        }
        return try await response.futureResult.get()
    }

    private static func requestHeaders(path: String, authority: String) -> HTTP2Frame.FramePayload {
        .headers(
            .init(headers: [
                ":method": "POST", ":scheme": "http", ":path": path, ":authority": authority,
                "content-type": "application/grpc", "te": "trailers",
            ]))
    }
}
