import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Spawning child processes from tests.
public enum ChildProcess {
    /// Starts `process` with every signal unblocked in the child. A child starts with
    /// the signal mask of the thread that spawns it, and the threads of Swift's task
    /// pool block most signals: spawned from one, a server would never see SIGTERM or
    /// SIGINT. The mask is lifted on this thread for the (synchronous) spawn only.
    public static func spawn(_ process: Process) throws {
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_UNBLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
    }
}

/// The moment a child process exits, awaited without holding a thread: set
/// `process.terminationHandler = { _ in exit.signal() }` before the spawn.
public final class ProcessExit: Sendable {
    private struct State {
        var exited = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var timers: [Int: Task<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Called once the process has exited (from its termination handler).
    public func signal() {
        let (waiters, timers) = state.withLock { state in
            state.exited = true
            defer { state.waiters = [:]; state.timers = [:] }
            return (Array(state.waiters.values), Array(state.timers.values))
        }
        for timer in timers { timer.cancel() }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    public var hasExited: Bool { state.withLock { $0.exited } }

    /// Waits for the exit; false when `timeout` passes first.
    @discardableResult
    public func wait(timeout: Duration = .seconds(3_600)) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let waiter: Int? = state.withLock { state in
                if state.exited { return nil }
                let number = state.nextWaiter
                state.nextWaiter += 1
                state.waiters[number] = continuation
                return number
            }
            guard let waiter else {
                continuation.resume(returning: true)
                return
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                let timedOut = self.state.withLock { state in
                    state.timers[waiter] = nil
                    return state.waiters.removeValue(forKey: waiter)
                }
                timedOut?.resume(returning: false)
            }
            state.withLock { state in
                if state.waiters[waiter] != nil { state.timers[waiter] = timer } else { timer.cancel() }
            }
        }
    }
}
