import NIOCore
import Wire

/// One TCP connection to one node, shared by every call that goes there:
/// requests are multiplexed by id and answered in any order.
final class NodeConnection: Sendable {
    let endpoint: Endpoint
    let channel: any Channel
    private let pending: PendingRequests

    init(endpoint: Endpoint, channel: any Channel, pending: PendingRequests) {
        self.endpoint = endpoint
        self.channel = channel
        self.pending = pending
    }

    var isClosed: Bool { pending.isClosed || !channel.isActive }

    /// Requests awaiting their answer.
    var inFlight: Int { pending.count }

    /// Sends one request and waits at most `timeout` for its answer. Throws a
    /// ``TransportFailure`` when there is none, or `CancellationError`.
    func send(_ body: ClientRequest.Body, timeout: Duration) async throws -> ClientResponse.Body {
        let pending = self.pending
        let channel = self.channel
        let id = pending.reserveID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ClientResponse.Body, any Error>) in
                guard pending.register(id, continuation) else { return }
                if Task.isCancelled {
                    pending.fail(id, CancellationError())
                    return
                }
                let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                    pending.fail(id, TransportFailure(kind: .timedOut, reason: "no answer within \(timeout.readable)",
                                                      requestMayHaveArrived: true))
                }
                pending.attachTimer(id, timer)
                channel.writeAndFlush(Frame.request(ClientRequest(id: id, body: body))).whenFailure { error in
                    pending.fail(id, TransportFailure(kind: .closed, reason: describeNetworkError(error),
                                                      requestMayHaveArrived: true))
                }
            }
        } onCancel: {
            pending.fail(id, CancellationError())
        }
    }

    func close() async {
        let closed: EventLoopFuture<Void> = channel.close()
        try? await closed.get()
    }
}
