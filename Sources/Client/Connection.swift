import NIOCore
import Synchronization
import Wire

/// One TCP connection to one node, shared by every call that goes there:
/// requests are multiplexed by id and answered in any order.
final class NodeConnection: Sendable {
    let endpoint: Endpoint
    let channel: any Channel
    private let pending: PendingRequests
    /// Requests written by callers on any thread, sent together once per pass of
    /// the channel's event loop: a burst of calls costs one hop and one write
    /// system call instead of one of each per request (the node reads them in one go too).
    private let unsent = Mutex<(requests: [(id: UInt64, frame: Frame)], drainScheduled: Bool)>(([], false))

    init(endpoint: Endpoint, channel: any Channel, pending: PendingRequests) {
        self.endpoint = endpoint
        self.channel = channel
        self.pending = pending
    }

    private func enqueue(_ id: UInt64, _ frame: Frame) {
        let mustSchedule = unsent.withLock { unsent -> Bool in
            unsent.requests.append((id, frame))
            guard !unsent.drainScheduled else { return false }
            unsent.drainScheduled = true
            return true
        }
        if mustSchedule { channel.eventLoop.execute { self.drain() } }
    }

    private func drain() {
        let requests = unsent.withLock { unsent -> [(id: UInt64, frame: Frame)] in
            unsent.drainScheduled = false
            defer { unsent.requests = [] }
            return unsent.requests
        }
        let pending = self.pending
        for (id, frame) in requests {
            channel.write(frame).whenFailure { error in
                pending.fail(id, TransportFailure(kind: .closed, reason: describeNetworkError(error), requestMayHaveArrived: true))
            }
        }
        channel.flush()
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
                self.enqueue(id, Frame.request(ClientRequest(id: id, body: body)))
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
