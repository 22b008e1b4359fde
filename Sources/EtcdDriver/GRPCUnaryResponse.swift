import NIOCore
import NIOHTTP2

/// What one unary call is, for its response and for the errors it reports.
struct GRPCCallDescription: Sendable {
    let endpoint: String
    /// The gRPC path, e.g. "/etcdserverpb.KV/Range".
    let method: String
    let timeout: Duration
    let maxMessageSize: Int
}

/// The response to one unary gRPC call, assembled from its stream's frames:
/// headers (`:status` 200), one length-prefixed message, then trailers with
/// `grpc-status`; or trailers alone when the call failed. Sans-I/O: the
/// connection feeds it frames and acts on the outcome.
struct GRPCUnaryResponse {
    private enum Phase {
        case awaitingHeaders
        case awaitingMessage
        case finished
    }

    let call: GRPCCallDescription
    private var phase = Phase.awaitingHeaders
    private var deframer: GRPCMessageDeframer
    private var message: ByteBuffer?

    init(call: GRPCCallDescription) {
        self.call = call
        deframer = GRPCMessageDeframer(maxMessageSize: call.maxMessageSize)
    }

    /// Takes the stream's next frame: nil while the response is incomplete,
    /// then the message or the error, once. Frames after that are ignored.
    mutating func receive(_ payload: HTTP2Frame.FramePayload) -> Result<ByteBuffer, EtcdCallError>? {
        guard phase != .finished else { return nil }
        let outcome: Result<ByteBuffer, EtcdCallError>?
        switch payload {
        case .headers(let headers): outcome = receiveHeaders(headers)
        case .data(let data): outcome = receiveData(data)
        case .rstStream(let code): outcome = .failure(closed("reset by the server (\(code))"))
        default: outcome = nil
        }
        if outcome != nil { phase = .finished }
        return outcome
    }

    /// The stream ended (reset, or refused after GOAWAY) before the response did.
    func closed(_ reason: String) -> EtcdCallError {
        .streamClosed(endpoint: call.endpoint, method: call.method, reason: reason)
    }

    private func violation(_ reason: String) -> Result<ByteBuffer, EtcdCallError> {
        .failure(.protocolViolation(endpoint: call.endpoint, method: call.method, reason: reason))
    }

    private mutating func receiveHeaders(_ headers: HTTP2Frame.FramePayload.Headers) -> Result<ByteBuffer, EtcdCallError>? {
        switch phase {
        case .awaitingHeaders:
            guard let status = headers.headers.first(name: ":status") else {
                return violation("response headers without :status")
            }
            // Informational (1xx): the real response headers are still to come.
            if status.utf8.first == UInt8(ascii: "1") && !headers.endStream { return nil }
            guard status == "200" else {
                return .failure(.unexpectedHTTPStatus(endpoint: call.endpoint, method: call.method, status: status))
            }
            // Trailers-only: the call failed before any message (or the server broke the rules).
            if headers.endStream { return finish(trailers: headers) }
            phase = .awaitingMessage
            return nil
        case .awaitingMessage:
            guard headers.endStream else { return violation("a second HEADERS frame without END_STREAM") }
            return finish(trailers: headers)
        case .finished:
            return nil
        }
    }

    private mutating func receiveData(_ data: HTTP2Frame.FramePayload.Data) -> Result<ByteBuffer, EtcdCallError>? {
        guard phase == .awaitingMessage else { return violation("DATA before the response headers") }
        guard case .byteBuffer(let bytes) = data.data else { return violation("DATA that is not bytes") }
        deframer.append(bytes)
        do throws(GRPCFramingError) {
            while true {
                let offset = deframer.consumedByteCount
                guard let next = try deframer.nextMessage() else { break }
                guard message == nil else { throw .extraMessage(offset: offset) }
                message = next
            }
        } catch {
            return .failure(.malformedBody(endpoint: call.endpoint, method: call.method, error: error))
        }
        if data.endStream { return violation("the response ended without trailers (no grpc-status)") }
        return nil
    }

    private func finish(trailers frame: HTTP2Frame.FramePayload.Headers) -> Result<ByteBuffer, EtcdCallError> {
        let trailers = frame.headers
        guard let statusText = trailers.first(name: "grpc-status") else {
            return violation("trailers without grpc-status")
        }
        guard let code = Int(statusText), code >= 0 else {
            return violation("grpc-status \"\(statusText)\" is not a status code")
        }
        guard code == 0 else {
            let text = trailers.first(name: "grpc-message").map(GRPCStatus.percentDecoded) ?? ""
            let status = GRPCStatus(code: code, message: text)
            return .failure(.failed(endpoint: call.endpoint, method: call.method, status: status))
        }
        do throws(GRPCFramingError) {
            try deframer.finish()
            guard let message else { throw .missingMessage }
            return .success(message)
        } catch {
            return .failure(.malformedBody(endpoint: call.endpoint, method: call.method, error: error))
        }
    }
}
