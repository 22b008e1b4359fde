import NIOCore
import NIOHTTP2
import Synchronization

/// One unary call waiting to be written: its request, and the task awaiting the answer.
struct GRPCCallSubmission: Sendable {
    let call: GRPCCallDescription
    /// The request's HEADERS, built once per connection and method.
    let headers: HTTP2Frame.FramePayload
    /// The length-prefixed request message.
    let request: ByteBuffer
    let continuation: CheckedContinuation<ByteBuffer, any Error>
}

/// Calls handed from any thread to a connection's event loop in batches: the
/// first call into an empty queue schedules one drain, which writes every
/// call queued by then with a single flush, so concurrent calls share syscalls.
final class GRPCCallQueue: Sendable {
    private let waiting = Mutex<[GRPCCallSubmission]>([])

    /// Queues a call; true when the queue was empty, so the caller must schedule a drain.
    func enqueue(_ submission: GRPCCallSubmission) -> Bool {
        waiting.withLock { waiting in
            waiting.append(submission)
            return waiting.count == 1
        }
    }

    /// Moves every queued call into `batch` (empty on entry). Swapping keeps
    /// both arrays' storage, so steady load allocates nothing here.
    func takeAll(into batch: inout [GRPCCallSubmission]) {
        waiting.withLock { swap(&$0, &batch) }
    }
}

extension GRPCCallQueue {
    /// Queues a call for `handler`'s connection and waits for its answer.
    func call(
        _ call: GRPCCallDescription, headers: HTTP2Frame.FramePayload, request: ByteBuffer,
        handler: NIOLoopBound<GRPCConnectionHandler>, eventLoop: any EventLoop
    ) async throws -> ByteBuffer {
        try await withCheckedThrowingContinuation { continuation in
            let submission = GRPCCallSubmission(call: call, headers: headers, request: request, continuation: continuation)
            if enqueue(submission) { eventLoop.execute { handler.value.drain() } }
        }
    }
}
