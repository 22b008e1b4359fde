import NIOCore
import NIOEmbedded
import NIOHTTP2
import Synchronization
import Testing

@testable import LoadGeneration

/// One unary call's stream, driven frame by frame: what it sends, and how it
/// ends for every shape of response a server may give.
@Suite("gRPC unary call handler")
struct EtcdUnaryCallHandlerTests {
    /// A call on an embedded stream channel, and its outcome once there is one.
    final class Call {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        private let outcomeBox = OutcomeBox()

        final class OutcomeBox: Sendable {
            let outcome = Mutex<Result<[UInt8], EtcdCallError>?>(nil)
        }

        init(timeout: Duration = .seconds(10)) throws {
            let response = loop.makePromise(of: ByteBuffer.self)
            let box = outcomeBox
            response.futureResult.whenComplete { result in
                box.outcome.withLock {
                    $0 = result.map { Array($0.readableBytesView) }.mapError { $0 as! EtcdCallError }
                }
            }
            let handler = GRPCUnaryCallHandler(
                call: GRPCCallDescription(endpoint: "e:1", method: "/p.S/M", timeout: timeout, maxMessageSize: 1024),
                requestHeaders: .headers(.init(headers: [":method": "POST", ":path": "/p.S/M"])),
                request: ByteBuffer(bytes: [0, 0, 0, 0, 1, 42]), response: response)
            channel = EmbeddedChannel(handler: handler, loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        var outcome: Result<[UInt8], EtcdCallError>? { outcomeBox.outcome.withLock { $0 } }

        /// Delivers frames in order; those after the stream closed are dropped, as on a real stream.
        func receive(_ payloads: HTTP2Frame.FramePayload...) {
            for payload in payloads where channel.isActive { _ = try? channel.writeInbound(payload) }
        }

        func failure() -> EtcdCallError? {
            if case .failure(let error) = outcome { return error }
            return nil
        }
    }

    static let responseHeaders = HTTP2Frame.FramePayload.headers(
        .init(headers: [":status": "200", "content-type": "application/grpc"]))

    static func data(_ bytes: [UInt8], endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: endStream))
    }

    static func trailers(status: String, message: String? = nil) -> HTTP2Frame.FramePayload {
        var headers: [(String, String)] = [("grpc-status", status)]
        if let message { headers.append(("grpc-message", message)) }
        return .headers(.init(headers: .init(headers), endStream: true))
    }

    @Test("sends headers then the message with END_STREAM; a message split over DATA frames arrives whole")
    func success() throws {
        let call = try Call()
        guard case .headers(let sent) = try call.channel.readOutbound(as: HTTP2Frame.FramePayload.self) else {
            Issue.record("the first frame sent is not HEADERS")
            return
        }
        #expect(sent.headers.first(name: ":path") == "/p.S/M" && !sent.endStream)
        guard case .data(let body) = try call.channel.readOutbound(as: HTTP2Frame.FramePayload.self),
            case .byteBuffer(let bytes) = body.data
        else {
            Issue.record("the second frame sent is not DATA")
            return
        }
        #expect(Array(bytes.readableBytesView) == [0, 0, 0, 0, 1, 42] && body.endStream)

        call.receive(Self.responseHeaders, Self.data([0, 0, 0]), Self.data([0, 2, 1]))
        #expect(call.outcome == nil)
        call.receive(Self.data([2]), Self.trailers(status: "0"))
        #expect(call.outcome == .success([1, 2]))
    }

    @Test("a trailers-only response carries the status, percent-decoded")
    func trailersOnly() throws {
        let call = try Call()
        call.receive(
            .headers(
                .init(
                    headers: [":status": "200", "grpc-status": "8", "grpc-message": "etcdserver%3A too many requests"],
                    endStream: true)))
        #expect(
            call.failure()
                == .failed(endpoint: "e:1", method: "/p.S/M", status: GRPCStatus(code: 8, message: "etcdserver: too many requests")))
    }

    @Test("an error status after headers and data")
    func errorAfterData() throws {
        let call = try Call()
        call.receive(Self.responseHeaders, Self.data([0, 0, 0, 0, 0]), Self.trailers(status: "14", message: "leader%20changed"))
        #expect(call.failure() == .failed(endpoint: "e:1", method: "/p.S/M", status: GRPCStatus(code: 14, message: "leader changed")))
    }

    @Test("responses that break HTTP/2's or gRPC's rules fail the call")
    func violations() throws {
        let cases: [([HTTP2Frame.FramePayload], EtcdCallError)] = [
            ([.headers(.init(headers: [":status": "503"], endStream: true))],
             .unexpectedHTTPStatus(endpoint: "e:1", method: "/p.S/M", status: "503")),
            ([.headers(.init(headers: ["content-type": "application/grpc"]))],
             .protocolViolation(endpoint: "e:1", method: "/p.S/M", reason: "response headers without :status")),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0, 0]), .headers(.init(headers: ["x": "y"], endStream: true))],
             .protocolViolation(endpoint: "e:1", method: "/p.S/M", reason: "trailers without grpc-status")),
            ([Self.responseHeaders, Self.trailers(status: "OK")],
             .protocolViolation(endpoint: "e:1", method: "/p.S/M", reason: "grpc-status \"OK\" is not a status code")),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0, 0], endStream: true)],
             .protocolViolation(
                endpoint: "e:1", method: "/p.S/M", reason: "the response ended without trailers (no grpc-status)")),
            ([Self.data([0, 0, 0, 0, 0])],
             .protocolViolation(endpoint: "e:1", method: "/p.S/M", reason: "DATA before the response headers")),
            ([Self.responseHeaders, Self.data([1, 0, 0, 0, 1, 9])],
             .malformedBody(endpoint: "e:1", method: "/p.S/M", error: .compressedMessage(offset: 0))),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0x10, 0])],
             .malformedBody(endpoint: "e:1", method: "/p.S/M", error: .messageTooLarge(length: 4096, limit: 1024, offset: 0))),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0])],
             .malformedBody(endpoint: "e:1", method: "/p.S/M", error: .extraMessage(offset: 6))),
            ([Self.responseHeaders, Self.trailers(status: "0")],
             .malformedBody(endpoint: "e:1", method: "/p.S/M", error: .missingMessage)),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0, 3, 7]), Self.trailers(status: "0")],
             .malformedBody(endpoint: "e:1", method: "/p.S/M", error: .truncatedMessage(needed: 8, available: 6, offset: 0))),
            ([Self.responseHeaders, .rstStream(.refusedStream)],
             .streamClosed(endpoint: "e:1", method: "/p.S/M", reason: "reset by the server (HTTP2ErrorCode<0x7 Refused Stream>)")),
        ]
        for (frames, expected) in cases {
            let call = try Call()
            for frame in frames { call.receive(frame) }
            #expect(call.failure() == expected)
            #expect(!call.channel.isActive, "a failed call resets its stream: \(expected)")
        }
    }

    @Test("a stream closed early, and a call past its timeout, fail with their own errors")
    func closedAndTimedOut() throws {
        let closed = try Call()
        closed.receive(Self.responseHeaders)
        try closed.channel.close().wait()
        #expect(closed.failure() == .streamClosed(endpoint: "e:1", method: "/p.S/M", reason: "closed without trailers"))

        let slow = try Call(timeout: .seconds(3))
        slow.receive(Self.responseHeaders)
        slow.loop.advanceTime(by: .seconds(2))
        #expect(slow.outcome == nil)
        slow.loop.advanceTime(by: .seconds(1))
        #expect(slow.failure() == .callTimedOut(endpoint: "e:1", method: "/p.S/M", after: .seconds(3)))
        #expect(!slow.channel.isActive)
    }
}
