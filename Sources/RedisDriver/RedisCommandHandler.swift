import NIOCore

/// A command's bytes on their way out, with the promise its reply fulfils.
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    var reply: EventLoopPromise<RESPValue>
}

/// Pairs replies with requests. Redis answers one connection's commands in
/// the order they arrived, so promises queue in the order their bytes are
/// written and each reply completes the oldest. Both happen on the channel's
/// event loop, which keeps the two orders the same however many tasks send
/// at once.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<EventLoopPromise<RESPValue>>()
    /// Once set, requests fail at once: the connection is closing or closed.
    private var closedBecause: RedisError?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let closedBecause {
            request.reply.fail(closedBecause)
            promise?.fail(closedBecause)
            return
        }
        waiting.append(request.reply)
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let oldest = waiting.popFirst() else {
            // In RESP2 a reply nobody asked for means the two ends disagree about the stream.
            close(context, because: .connectionClosed(reason: "closed after a reply no request was waiting for: \(reply)"))
            return
        }
        oldest.succeed(reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason: RedisError =
            switch error {
            case let error as RedisError: error
            case let error as RESPDecodingError: .malformedReply(error)
            default: .connectionClosed(reason: describeRedisNetworkError(error))
            }
        close(context, because: reason)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.connectionClosed(reason: "closed by the server, the network or close()"))
        context.fireChannelInactive()
    }

    private func close(_ context: ChannelHandlerContext, because reason: RedisError) {
        failAll(reason)
        context.close(promise: nil)
    }

    /// Fails every waiting request; the first reason is kept for requests written later.
    private func failAll(_ reason: RedisError) {
        if closedBecause == nil { closedBecause = reason }
        let reason = closedBecause ?? reason
        while let promise = waiting.popFirst() { promise.fail(reason) }
    }
}
