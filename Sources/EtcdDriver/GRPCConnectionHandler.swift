import NIOCore
import NIOHTTP2

/// The gRPC side of one HTTP/2 connection, after NIO's HTTP/2 handler: gives
/// each unary call the next client stream, writes its HEADERS and DATA
/// (END_STREAM), routes the response frames by stream to the call's
/// ``GRPCUnaryResponse``, and resumes the waiting task. One handler for all
/// streams, rather than a channel per stream, keeps the per-call cost to a
/// dictionary entry and the frames themselves.
///
/// It also does what NIO's stream multiplexer would: replenishes the
/// connection's receive window (streams get the largest window in SETTINGS,
/// so they never need one), expires calls past their timeout, and, when the
/// connection fails, fails every call on it with the reason.
final class GRPCConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// The largest HTTP/2 flow-control window, used for every stream and the connection.
    static let maxWindow = Int(Int32.max)
    /// How often calls are checked against their deadlines while any are pending.
    static let expiryInterval = TimeAmount.milliseconds(100)

    private struct PendingCall {
        var response: GRPCUnaryResponse
        let deadline: NIODeadline
        let continuation: CheckedContinuation<ByteBuffer, any Error>
    }

    private let queue: GRPCCallQueue
    private let ending: EtcdConnectionEnding
    private var context: ChannelHandlerContext?
    private var pending: [HTTP2StreamID: PendingCall] = [:]
    private var nextStreamID = 1
    /// The drain's working array, kept to reuse its storage.
    private var batch: [GRPCCallSubmission] = []
    private var expiry: Scheduled<Void>?
    /// Set once new calls must fail at once (GOAWAY, a fatal error, the connection closed).
    private var refusal: String?

    init(queue: GRPCCallQueue, ending: EtcdConnectionEnding) {
        self.queue = queue
        self.ending = ending
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failEverything()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        failEverything()
        context.fireChannelInactive()
    }

    // MARK: - Writing calls

    /// Writes every queued call on a stream of its own, then flushes once. Runs on the event loop.
    func drain() {
        queue.takeAll(into: &batch)
        defer { batch.removeAll(keepingCapacity: true) }
        guard let context, refusal == nil else {
            for submission in batch { submission.continuation.resume(throwing: connectionClosed(submission.call)) }
            return
        }
        let now = context.eventLoop.now
        for submission in batch {
            guard nextStreamID <= Int(Int32.max) else {
                // After about a billion calls: the server will see a fresh connection next run.
                refuse("the connection used up its HTTP/2 stream ids", context: context)
                submission.continuation.resume(throwing: connectionClosed(submission.call))
                continue
            }
            let streamID = HTTP2StreamID(nextStreamID)
            nextStreamID += 2
            // Registered before the writes, which may fail re-entrantly.
            pending[streamID] = PendingCall(
                response: GRPCUnaryResponse(call: submission.call), deadline: now + TimeAmount(submission.call.timeout),
                continuation: submission.continuation)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: submission.headers)), promise: nil)
            let body = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(submission.request), endStream: true))
            context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: body)), promise: nil)
        }
        context.flush()
        scheduleExpiry(context: context)
    }

    // MARK: - Reading responses

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.streamID == .rootStream {
            if case .goAway(_, let code, _) = frame.payload {
                // Calls already sent may still complete; new ones must go elsewhere.
                refusal = refusal ?? "the server sent GOAWAY (\(code))"
            }
            return
        }
        guard let outcome = pending[frame.streamID]?.response.receive(frame.payload),
            let call = pending.removeValue(forKey: frame.streamID)
        else { return }
        switch outcome {
        case .success(let message):
            call.continuation.resume(returning: message)
        case .failure(let error):
            call.continuation.resume(throwing: error)
            // Stop the server's work on a stream it has not finished.
            if !Self.endsStream(frame.payload) { reset(frame.streamID, context: context) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let window = event as? NIOHTTP2WindowUpdatedEvent {
            replenishConnectionWindow(window, context: context)
        } else if let closed = event as? StreamClosedEvent, let call = pending.removeValue(forKey: closed.streamID) {
            // Closed before its response completed: reset by the server, or dropped by GOAWAY.
            let reason = closed.reason.map { "reset (\($0))" } ?? "closed before the response was complete"
            call.continuation.resume(throwing: call.response.closed(reason))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            // One stream's trouble, such as a write refused after GOAWAY: that call fails, the connection goes on.
            if let call = pending.removeValue(forKey: streamError.streamID) {
                call.continuation.resume(throwing: call.response.closed("\(streamError.baseError)"))
            }
            return
        }
        // NIO's HTTP/2 handler answers a connection error (a protocol violation, a peer over
        // one of its rate limits) with GOAWAY but leaves the socket open: close it, so calls
        // fail now with the reason rather than at their timeouts.
        refuse("\(error)", context: context)
    }

    // MARK: - Flow control, timeouts, failure

    /// Keeps the connection's receive window near its maximum, so the server
    /// never waits for credit; NIO reports the window after every DATA frame.
    private func replenishConnectionWindow(_ event: NIOHTTP2WindowUpdatedEvent, context: ChannelHandlerContext) {
        guard event.streamID == .rootStream, let window = event.inboundWindowSize, window < Self.maxWindow / 2 else {
            return
        }
        let update = HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: Self.maxWindow - window))
        context.writeAndFlush(wrapOutboundOut(update), promise: nil)
    }

    private func scheduleExpiry(context: ChannelHandlerContext) {
        guard expiry == nil, !pending.isEmpty else { return }
        expiry = context.eventLoop.assumeIsolated().scheduleTask(in: Self.expiryInterval) {
            self.expiry = nil
            self.expireCalls(context: context)
            self.scheduleExpiry(context: context)
        }
    }

    private func expireCalls(context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        let expired = pending.compactMap { $0.value.deadline <= now ? $0.key : nil }
        for streamID in expired {
            guard let call = pending.removeValue(forKey: streamID) else { continue }
            let description = call.response.call
            call.continuation.resume(
                throwing: EtcdCallError.callTimedOut(
                    endpoint: description.endpoint, method: description.method, after: description.timeout))
            reset(streamID, context: context)
        }
    }

    private func reset(_ streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.cancel))), promise: nil)
    }

    /// Ends the connection for a reason that concerns all of it.
    private func refuse(_ reason: String, context: ChannelHandlerContext) {
        ending.record(reason)
        refusal = refusal ?? reason
        context.close(promise: nil)
    }

    private func connectionClosed(_ call: GRPCCallDescription) -> EtcdCallError {
        .connectionClosed(endpoint: call.endpoint, method: call.method, reason: refusal ?? ending.description)
    }

    /// Fails every pending and queued call: the connection is gone.
    private func failEverything() {
        refusal = refusal ?? ending.description
        expiry?.cancel()
        expiry = nil
        let calls = pending
        pending.removeAll()
        for call in calls.values { call.continuation.resume(throwing: connectionClosed(call.response.call)) }
        queue.takeAll(into: &batch)
        for submission in batch { submission.continuation.resume(throwing: connectionClosed(submission.call)) }
        batch.removeAll(keepingCapacity: true)
    }

    private static func endsStream(_ payload: HTTP2Frame.FramePayload) -> Bool {
        switch payload {
        case .headers(let headers): headers.endStream
        case .data(let data): data.endStream
        case .rstStream: true
        default: false
        }
    }
}
