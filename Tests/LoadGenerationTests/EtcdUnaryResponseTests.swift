
@testable import EtcdDriver
@testable import LoadGeneration
import NIOCore
import NIOHTTP2
import Testing

/// One unary call's response, fed frame by frame: how it ends for every
/// shape of response a server may give.
@Suite("gRPC unary response")
struct EtcdUnaryResponseTests {
    static let call = GRPCCallDescription(endpoint: "e:1", method: "/p.S/M", timeout: .seconds(10), maxMessageSize: 1024)

    /// The outcome after `frames`, or nil while the response is incomplete; no frame may follow an outcome.
    static func outcome(_ frames: [HTTP2Frame.FramePayload]) -> Result<[UInt8], EtcdCallError>? {
        var response = GRPCUnaryResponse(call: call)
        for (index, frame) in frames.enumerated() {
            if let outcome = response.receive(frame) {
                #expect(index == frames.count - 1, "an outcome before the last frame")
                #expect(response.receive(frame) == nil, "a second outcome")
                return outcome.map { Array($0.readableBytesView) }
            }
        }
        return nil
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

    @Test("a message split over DATA frames arrives whole")
    func success() {
        #expect(Self.outcome([Self.responseHeaders, Self.data([0, 0, 0]), Self.data([0, 2, 1])]) == nil)
        #expect(
            Self.outcome([Self.responseHeaders, Self.data([0, 0, 0]), Self.data([0, 2, 1]), Self.data([2]), Self.trailers(status: "0")])
                == .success([1, 2]))
        // An informational response before the real one.
        #expect(
            Self.outcome([.headers(.init(headers: [":status": "100"])), Self.responseHeaders, Self.data([0, 0, 0, 0, 0]), Self.trailers(status: "0")])
                == .success([]))
    }

    @Test("a trailers-only response carries the status, percent-decoded")
    func trailersOnly() {
        let frame = HTTP2Frame.FramePayload.headers(
            .init(
                headers: [":status": "200", "grpc-status": "8", "grpc-message": "etcdserver%3A too many requests"],
                endStream: true))
        #expect(
            Self.outcome([frame])
                == .failure(.failed(endpoint: "e:1", method: "/p.S/M", status: GRPCStatus(code: 8, message: "etcdserver: too many requests"))))
    }

    @Test("an error status after headers and data")
    func errorAfterData() {
        #expect(
            Self.outcome([Self.responseHeaders, Self.data([0, 0, 0, 0, 0]), Self.trailers(status: "14", message: "leader%20changed")])
                == .failure(.failed(endpoint: "e:1", method: "/p.S/M", status: GRPCStatus(code: 14, message: "leader changed"))))
    }

    @Test("responses that break HTTP/2's or gRPC's rules fail the call")
    func violations() {
        func violation(_ reason: String) -> EtcdCallError {
            .protocolViolation(endpoint: "e:1", method: "/p.S/M", reason: reason)
        }
        func malformed(_ error: GRPCFramingError) -> EtcdCallError {
            .malformedBody(endpoint: "e:1", method: "/p.S/M", error: error)
        }
        let cases: [([HTTP2Frame.FramePayload], EtcdCallError)] = [
            ([.headers(.init(headers: [":status": "503"], endStream: true))],
             .unexpectedHTTPStatus(endpoint: "e:1", method: "/p.S/M", status: "503")),
            ([.headers(.init(headers: ["content-type": "application/grpc"]))], violation("response headers without :status")),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0, 0]), .headers(.init(headers: ["x": "y"], endStream: true))],
             violation("trailers without grpc-status")),
            ([Self.responseHeaders, Self.trailers(status: "OK")], violation("grpc-status \"OK\" is not a status code")),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0, 0], endStream: true)],
             violation("the response ended without trailers (no grpc-status)")),
            ([Self.responseHeaders, .headers(.init(headers: ["x": "y"]))], violation("a second HEADERS frame without END_STREAM")),
            ([Self.data([0, 0, 0, 0, 0])], violation("DATA before the response headers")),
            ([Self.responseHeaders, Self.data([1, 0, 0, 0, 1, 9])], malformed(.compressedMessage(offset: 0))),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0x10, 0])], malformed(.messageTooLarge(length: 4096, limit: 1024, offset: 0))),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0])], malformed(.extraMessage(offset: 6))),
            ([Self.responseHeaders, Self.trailers(status: "0")], malformed(.missingMessage)),
            ([Self.responseHeaders, Self.data([0, 0, 0, 0, 3, 7]), Self.trailers(status: "0")],
             malformed(.truncatedMessage(needed: 8, available: 6, offset: 0))),
            ([Self.responseHeaders, .rstStream(.refusedStream)],
             .streamClosed(endpoint: "e:1", method: "/p.S/M", reason: "reset by the server (HTTP2ErrorCode<0x7 Refused Stream>)")),
        ]
        for (frames, expected) in cases {
            #expect(Self.outcome(frames) == .failure(expected))
        }
    }
}
