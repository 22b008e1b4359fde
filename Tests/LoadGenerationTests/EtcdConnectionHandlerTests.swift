
@testable import EtcdDriver
@testable import LoadGeneration
import NIOCore
import NIOEmbedded
import NIOHTTP2
import Testing

/// The gRPC side of one HTTP/2 connection, on a test channel that stands in
/// for NIO's HTTP/2 handler: streams handed out, answers routed to their
/// callers, the connection window kept open, calls expired and failed.
@Suite("gRPC connection handler")
struct EtcdConnectionHandlerTests {
    final class Connection: Sendable {
        let channel = NIOAsyncTestingChannel()
        let queue = GRPCCallQueue()
        let handler: NIOLoopBound<GRPCConnectionHandler>

        init() async throws {
            let (channel, queue) = (self.channel, self.queue)
            handler = try await channel.testingEventLoop.executeInContext {
                let handler = GRPCConnectionHandler(queue: queue, ending: EtcdConnectionEnding())
                try channel.pipeline.syncOperations.addHandler(handler)
                return NIOLoopBound(handler, eventLoop: channel.eventLoop)
            }
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        }

        /// A unary call of `method`, with the request message [42].
        func call(_ method: String, timeout: Duration = .seconds(10)) async throws -> [UInt8] {
            let description = GRPCCallDescription(endpoint: "e:1", method: method, timeout: timeout, maxMessageSize: 1024)
            let message = try await queue.call(
                description, headers: .headers(.init(headers: [":path": method])),
                request: ByteBuffer(bytes: [0, 0, 0, 0, 1, 42]), handler: handler, eventLoop: channel.eventLoop)
            return Array(message.readableBytesView)
        }

        /// The next call's HEADERS and DATA: its stream and path.
        func nextRequest() async throws -> (stream: HTTP2StreamID, path: String) {
            let headers = try await channel.waitForOutboundWrite(as: HTTP2Frame.self)
            let data = try await channel.waitForOutboundWrite(as: HTTP2Frame.self)
            guard case .headers(let block) = headers.payload, case .data(let body) = data.payload,
                case .byteBuffer(let bytes) = body.data
            else {
                Issue.record("not HEADERS then DATA: \(headers), \(data)")
                return (headers.streamID, "")
            }
            #expect(data.streamID == headers.streamID && body.endStream && !block.endStream)
            #expect(Array(bytes.readableBytesView) == [0, 0, 0, 0, 1, 42])
            return (headers.streamID, block.headers.first(name: ":path") ?? "")
        }

        func respond(on stream: HTTP2StreamID, with message: [UInt8]) async throws {
            try await channel.writeInbound(HTTP2Frame(streamID: stream, payload: .headers(.init(headers: [":status": "200"]))))
            let body = ByteBuffer(bytes: [0, 0, 0, 0, UInt8(message.count)] + message)
            try await channel.writeInbound(HTTP2Frame(streamID: stream, payload: .data(.init(data: .byteBuffer(body)))))
            let trailers = HTTP2Frame.FramePayload.headers(.init(headers: ["grpc-status": "0"], endStream: true))
            try await channel.writeInbound(HTTP2Frame(streamID: stream, payload: trailers))
        }

        func fire(_ event: any Sendable) async throws {
            let channel = self.channel
            try await channel.testingEventLoop.executeInContext { channel.pipeline.fireUserInboundEventTriggered(event) }
        }

        func fireError(_ error: any Error & Sendable) async throws {
            let channel = self.channel
            try await channel.testingEventLoop.executeInContext { channel.pipeline.fireErrorCaught(error) }
        }
    }

    struct Boom: Error, CustomStringConvertible {
        var description: String { "boom" }
    }

    @Test("concurrent calls get streams 1, 3, …; answers in any order reach their callers")
    func multiplexes() async throws {
        let connection = try await Connection()
        let first = Task { try await connection.call("/p.S/A") }
        let second = Task { try await connection.call("/p.S/B") }
        let requests = [try await connection.nextRequest(), try await connection.nextRequest()]
        #expect(Set(requests.map(\.stream)) == [1, 3])
        let streams = Dictionary(uniqueKeysWithValues: requests.map { ($0.path, $0.stream) })
        try await connection.respond(on: streams["/p.S/B"]!, with: [2])
        try await connection.respond(on: streams["/p.S/A"]!, with: [1])
        #expect(try await first.value == [1])
        #expect(try await second.value == [2])
        // Frames for a stream nobody waits on are dropped.
        try await connection.respond(on: 99, with: [9])
        let third = Task { try await connection.call("/p.S/C") }
        let request = try await connection.nextRequest()
        #expect(request.stream == 5)
        try await connection.respond(on: request.stream, with: [3])
        #expect(try await third.value == [3])
    }

    @Test("the connection window is topped up once it falls below half the maximum")
    func connectionWindow() async throws {
        let connection = try await Connection()
        try await connection.fire(NIOHTTP2WindowUpdatedEvent(streamID: .rootStream, inboundWindowSize: 1000, outboundWindowSize: 65535))
        let update = try await connection.channel.readOutbound(as: HTTP2Frame.self)
        #expect(update?.streamID == .rootStream)
        guard case .windowUpdate(let increment)? = update?.payload else {
            Issue.record("no WINDOW_UPDATE: \(String(describing: update))")
            return
        }
        #expect(increment == Int(Int32.max) - 1000)
        try await connection.fire(NIOHTTP2WindowUpdatedEvent(streamID: .rootStream, inboundWindowSize: Int(Int32.max) - 10, outboundWindowSize: 0))
        try await connection.fire(NIOHTTP2WindowUpdatedEvent(streamID: 1, inboundWindowSize: 10, outboundWindowSize: 0))
        #expect(try await connection.channel.readOutbound(as: HTTP2Frame.self) == nil)
    }

    @Test("a call past its timeout fails and its stream is reset")
    func timeout() async throws {
        let connection = try await Connection()
        let slow = Task { try await connection.call("/p.S/Slow", timeout: .seconds(3)) }
        let request = try await connection.nextRequest()
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(2))
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(2))
        await #expect(throws: EtcdCallError.callTimedOut(endpoint: "e:1", method: "/p.S/Slow", after: .seconds(3))) {
            _ = try await slow.value
        }
        let reset = try await connection.channel.waitForOutboundWrite(as: HTTP2Frame.self)
        #expect(reset.streamID == request.stream)
        guard case .rstStream(.cancel) = reset.payload else {
            Issue.record("not RST_STREAM(CANCEL): \(reset)")
            return
        }
    }

    @Test("a stream closed early, or one stream's error, fails that call alone")
    func streamFailures() async throws {
        let connection = try await Connection()
        let reset = Task { try await connection.call("/p.S/Reset") }
        let broken = Task { try await connection.call("/p.S/Broken") }
        let fine = Task { try await connection.call("/p.S/Fine") }
        var streams: [String: HTTP2StreamID] = [:]
        for _ in 0..<3 {
            let request = try await connection.nextRequest()
            streams[request.path] = request.stream
        }
        try await connection.fire(StreamClosedEvent(streamID: streams["/p.S/Reset"]!, reason: .refusedStream))
        try await connection.fireError(NIOHTTP2Errors.streamError(streamID: streams["/p.S/Broken"]!, baseError: Boom()))
        try await connection.respond(on: streams["/p.S/Fine"]!, with: [7])
        await #expect(
            throws: EtcdCallError.streamClosed(
                endpoint: "e:1", method: "/p.S/Reset", reason: "reset (HTTP2ErrorCode<0x7 Refused Stream>)")
        ) { _ = try await reset.value }
        await #expect(throws: EtcdCallError.streamClosed(endpoint: "e:1", method: "/p.S/Broken", reason: "boom")) {
            _ = try await broken.value
        }
        #expect(try await fine.value == [7])
        #expect(connection.channel.isActive)
    }

    @Test("a connection error closes the connection and fails every call with the reason")
    func connectionError() async throws {
        let connection = try await Connection()
        let pending = Task { try await connection.call("/p.S/M") }
        _ = try await connection.nextRequest()
        try await connection.fireError(Boom())
        await #expect(throws: EtcdCallError.connectionClosed(endpoint: "e:1", method: "/p.S/M", reason: "boom")) {
            _ = try await pending.value
        }
        #expect(!connection.channel.isActive)
        await #expect(throws: EtcdCallError.connectionClosed(endpoint: "e:1", method: "/p.S/Later", reason: "boom")) {
            _ = try await connection.call("/p.S/Later")
        }
    }

    @Test("after GOAWAY, calls already sent complete and new ones fail at once")
    func goAway() async throws {
        let connection = try await Connection()
        let sent = Task { try await connection.call("/p.S/Sent") }
        let request = try await connection.nextRequest()
        try await connection.channel.writeInbound(
            HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: request.stream, errorCode: .noError, opaqueData: nil)))
        do {
            _ = try await connection.call("/p.S/New")
            Issue.record("a call after GOAWAY was sent")
        } catch EtcdCallError.connectionClosed(_, _, let reason) {
            #expect(reason.contains("GOAWAY"), "\(reason)")
        }
        try await connection.respond(on: request.stream, with: [5])
        #expect(try await sent.value == [5])
    }

    @Test("a closed connection fails its pending calls")
    func closed() async throws {
        let connection = try await Connection()
        let pending = Task { try await connection.call("/p.S/M") }
        _ = try await connection.nextRequest()
        try await connection.channel.close()
        await #expect {
            _ = try await pending.value
        } throws: { error in
            guard case EtcdCallError.connectionClosed(_, "/p.S/M", _) = error else { return false }
            return true
        }
    }
}
