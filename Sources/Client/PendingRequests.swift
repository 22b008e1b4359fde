import NIOCore
import Synchronization
import Wire

/// The requests of one connection that await their response, by request id.
/// Shared by the callers (who register) and the channel's handler (which
/// completes them); once closed, every waiter and every later request fails
/// with the reason the connection died.
final class PendingRequests: Sendable {
    private struct Waiter: Sendable {
        var continuation: CheckedContinuation<ClientResponse.Body, any Error>
        var timer: Scheduled<Void>?
    }

    private struct State: Sendable {
        var nextID: UInt64 = 1
        var waiters: [UInt64: Waiter] = [:]
        var closedBecause: TransportFailure?
    }

    private let state = Mutex(State())

    var isClosed: Bool { state.withLock { $0.closedBecause != nil } }

    var count: Int { state.withLock { $0.waiters.count } }

    func reserveID() -> UInt64 {
        state.withLock { state in
            defer { state.nextID &+= 1 }
            return state.nextID
        }
    }

    /// Adds a waiter; when the connection is already closed it is failed at
    /// once (the request was never sent) and `false` is returned.
    func register(_ id: UInt64, _ continuation: CheckedContinuation<ClientResponse.Body, any Error>) -> Bool {
        let refusal: TransportFailure? = state.withLock { state in
            if let reason = state.closedBecause {
                var failure = reason
                failure.requestMayHaveArrived = false
                return failure
            }
            state.waiters[id] = Waiter(continuation: continuation, timer: nil)
            return nil
        }
        if let refusal {
            continuation.resume(throwing: refusal)
            return false
        }
        return true
    }

    /// Attaches the attempt timer to a waiter; cancels it if the waiter is already gone.
    func attachTimer(_ id: UInt64, _ timer: Scheduled<Void>) {
        let attached = state.withLock { state in
            guard state.waiters[id] != nil else { return false }
            state.waiters[id]!.timer = timer
            return true
        }
        if !attached { timer.cancel() }
    }

    /// Hands a response to its waiter. A response nobody waits for (its attempt
    /// timed out or was cancelled) is dropped.
    func complete(_ response: ClientResponse) {
        guard let waiter = state.withLock({ $0.waiters.removeValue(forKey: response.id) }) else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(returning: response.body)
    }

    func fail(_ id: UInt64, _ error: any Error) {
        guard let waiter = state.withLock({ $0.waiters.removeValue(forKey: id) }) else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// Fails every waiter with `reason` and refuses later requests. The first reason wins.
    func close(_ reason: TransportFailure) {
        let waiters = state.withLock { state -> [Waiter] in
            if state.closedBecause == nil { state.closedBecause = reason }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: reason)
        }
    }
}
