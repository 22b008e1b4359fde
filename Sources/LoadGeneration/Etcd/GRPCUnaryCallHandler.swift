import NIOCore
import NIOHTTP2

/// What one unary call is, for its handler and for the errors it reports.
struct GRPCCallDescription: Sendable {
    let endpoint: String
    /// The gRPC path, e.g. "/etcdserverpb.KV/Range".
    let method: String
    let timeout: Duration
    let maxMessageSize: Int
}

/// Runs one unary gRPC call on its own HTTP/2 stream: sends the request
/// headers and the message with END_STREAM at once, then reads the response
/// headers, one message and the trailers, and completes `response` exactly
/// once — with the message, or with an ``EtcdCallError``.
final class GRPCUnaryCallHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum Phase {
        case idle
        case awaitingHeaders
        case awaitingMessage
        case finished
    }

    private let call: GRPCCallDescription
    private let requestHeaders: HTTP2Frame.FramePayload
    private var request: ByteBuffer?
    private let response: EventLoopPromise<ByteBuffer>
    private var phase = Phase.idle
    private var deframer: GRPCMessageDeframer
    private var message: ByteBuffer?
    private var timer: Scheduled<Void>?

    init(
        call: GRPCCallDescription, requestHeaders: HTTP2Frame.FramePayload, request: ByteBuffer,
        response: EventLoopPromise<ByteBuffer>
    ) {
        self.call = call
        self.requestHeaders = requestHeaders
        self.request = request
        self.response = response
        deframer = GRPCMessageDeframer(maxMessageSize: call.maxMessageSize)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let call = self.call
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(call.timeout)) {
            let error = EtcdCallError.callTimedOut(endpoint: call.endpoint, method: call.method, after: call.timeout)
            self.fail(error, context: context)
        }
        // A stream the multiplexer opened is activated after its initializer ran.
        if context.channel.isActive { sendRequest(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if phase != .finished { failClosed("its handler was removed", context: context) }
        timer?.cancel()
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase != .finished { failClosed("closed without trailers", context: context) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if phase != .finished { failClosed("\(error)", context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            receiveHeaders(headers, context: context)
        case .data(let data):
            receiveData(data, context: context)
        case .rstStream(let code):
            if phase != .finished { failClosed("reset by the server (\(code))", context: context) }
        default:
            break
        }
    }

    // MARK: - Request

    private func sendRequest(context: ChannelHandlerContext) {
        guard phase == .idle, let request else { return }
        self.request = nil
        phase = .awaitingHeaders
        context.write(wrapOutboundOut(requestHeaders), promise: nil)
        // A write that fails (say, a stream refused after GOAWAY) may leave the stream open: fail the call now.
        context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(request), endStream: true))))
            .assumeIsolated().whenFailure { error in
                if self.phase != .finished {
                    self.failClosed("request not sent: \(error)", context: context)
                }
            }
    }

    // MARK: - Response

    private func receiveHeaders(_ headers: HTTP2Frame.FramePayload.Headers, context: ChannelHandlerContext) {
        switch phase {
        case .awaitingHeaders:
            guard let status = headers.headers.first(name: ":status") else {
                return violation("response headers without :status", context: context)
            }
            // Informational (1xx): the real response headers are still to come.
            if status.utf8.first == UInt8(ascii: "1") && !headers.endStream { return }
            guard status == "200" else {
                let error = EtcdCallError.unexpectedHTTPStatus(
                    endpoint: call.endpoint, method: call.method, status: status)
                return fail(error, context: context)
            }
            if headers.endStream {
                // Trailers-only: the call failed before any message (or the server broke the rules).
                finish(trailers: headers, context: context)
            } else {
                phase = .awaitingMessage
            }
        case .awaitingMessage:
            guard headers.endStream else {
                return violation("a second HEADERS frame without END_STREAM", context: context)
            }
            finish(trailers: headers, context: context)
        case .idle:
            violation("response headers before the request was sent", context: context)
        case .finished:
            break
        }
    }

    private func receiveData(_ data: HTTP2Frame.FramePayload.Data, context: ChannelHandlerContext) {
        guard phase == .awaitingMessage else {
            if phase != .finished { violation("DATA before the response headers", context: context) }
            return
        }
        guard case .byteBuffer(let bytes) = data.data else {
            return violation("DATA that is not bytes", context: context)
        }
        deframer.append(bytes)
        do throws(GRPCFramingError) {
            while true {
                let offset = deframer.consumedByteCount
                guard let next = try deframer.nextMessage() else { break }
                guard message == nil else { throw GRPCFramingError.extraMessage(offset: offset) }
                message = next
            }
        } catch {
            return fail(.malformedBody(endpoint: call.endpoint, method: call.method, error: error), context: context)
        }
        if data.endStream { violation("the response ended without trailers (no grpc-status)", context: context) }
    }

    private func finish(trailers frame: HTTP2Frame.FramePayload.Headers, context: ChannelHandlerContext) {
        let trailers = frame.headers
        guard let statusText = trailers.first(name: "grpc-status") else {
            return violation("trailers without grpc-status", context: context)
        }
        guard let code = Int(statusText), code >= 0 else {
            return violation("grpc-status \"\(statusText)\" is not a status code", context: context)
        }
        guard code == 0 else {
            let text = trailers.first(name: "grpc-message").map(GRPCStatus.percentDecoded) ?? ""
            let status = GRPCStatus(code: code, message: text)
            return fail(.failed(endpoint: call.endpoint, method: call.method, status: status), context: context)
        }
        do throws(GRPCFramingError) {
            try deframer.finish()
            guard let message else { throw GRPCFramingError.missingMessage }
            phase = .finished
            timer?.cancel()
            response.succeed(message)
        } catch {
            fail(.malformedBody(endpoint: call.endpoint, method: call.method, error: error), context: context)
        }
    }

    // MARK: - Failure

    private func violation(_ reason: String, context: ChannelHandlerContext) {
        fail(.protocolViolation(endpoint: call.endpoint, method: call.method, reason: reason), context: context)
    }

    /// A stream that ends early ended with its connection, or on its own.
    private func failClosed(_ reason: String, context: ChannelHandlerContext) {
        if let parent = context.channel.parent, !parent.isActive {
            fail(.connectionClosed(endpoint: call.endpoint, method: call.method), context: context)
        } else {
            fail(.streamClosed(endpoint: call.endpoint, method: call.method, reason: reason), context: context)
        }
    }

    private func fail(_ error: EtcdCallError, context: ChannelHandlerContext) {
        guard phase != .finished else { return }
        phase = .finished
        timer?.cancel()
        response.fail(error)
        // Resets the stream if it is still open, so the server stops working on it.
        if context.channel.isActive { context.close(promise: nil) }
    }
}
