import NIOCore
import Wire

/// The last handler of a client connection's pipeline: hands responses to
/// their waiters and, when the connection fails or closes, fails them all.
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    private let pending: PendingRequests

    init(pending: PendingRequests) {
        self.pending = pending
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .response(let response):
            pending.complete(response)
        case .hello, .heartbeat:
            break  // harmless: a node may greet or ping; neither carries an answer
        case .request:
            violation(context, "the node sent a request frame to a client")
        case .cellMessages, .snapshotTransfer:
            violation(context, "the node sent consensus messages to a client (is this port a peer-only listener?)")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let refusal = credentialsRefusal(error) {
            pending.close(TransportFailure(kind: .credentialsRefused, reason: refusal, requestMayHaveArrived: false))
            return context.close(promise: nil)
        }
        let kind: TransportFailure.Kind = error is WireError ? .protocolViolation : .closed
        pending.close(TransportFailure(kind: kind, reason: describeNetworkError(error), requestMayHaveArrived: true))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending.close(TransportFailure(kind: .closed, reason: "connection closed by the node", requestMayHaveArrived: true))
        context.fireChannelInactive()
    }

    private func violation(_ context: ChannelHandlerContext, _ reason: String) {
        pending.close(TransportFailure(kind: .protocolViolation, reason: reason, requestMayHaveArrived: true))
        context.close(promise: nil)
    }
}
