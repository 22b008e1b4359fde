import Foundation

/// Threads of their own for invocations: a program's host calls block until
/// the cluster answers, which must never happen on Swift's cooperative pool
/// (a few blocked invocations would stall every task of the node). Up to
/// `threadCount` threads, started as needed, take jobs from a queue bounded
/// by count; a full queue refuses at once with ``MachineError/overloaded(_:)``,
/// and nothing runs.
public final class InvocationThreads: @unchecked Sendable {
    public let threadCount: Int
    public let queueCapacity: Int
    // Everything below is guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var started = 0
    private var idle = 0
    private var stopping = false

    public init(threadCount: Int = 32, queueCapacity: Int = 1024) {
        precondition(threadCount > 0 && queueCapacity > 0)
        self.threadCount = threadCount
        self.queueCapacity = queueCapacity
    }

    /// Runs `job` on one of the threads and returns its result.
    public func run<T: Sendable>(_ job: @escaping @Sendable () throws(MachineError) -> T) async throws(MachineError) -> T {
        let result: Result<T, MachineError> = await withCheckedContinuation { continuation in
            let accepted = submit {
                do throws(MachineError) {
                    continuation.resume(returning: .success(try job()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted {
                continuation.resume(returning: .failure(.overloaded(
                    "the node's \(threadCount) invocation threads are busy and \(queueCapacity) invocations wait: retry later")))
            }
        }
        return try result.get()
    }

    private func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, jobs.count < queueCapacity else { return false }
        jobs.append(job)
        if idle == 0, started < threadCount {
            started += 1
            let thread = Thread { [self] in work() }
            thread.name = "tessera-vm"
            thread.stackSize = 8 << 20
            thread.start()
        } else {
            condition.signal()
        }
        return true
    }

    private func work() {
        Thread.current.name = "tessera-vm"
        Thread.current.threadDictionary[Self.marker] = true
        condition.lock()
        while true {
            if !jobs.isEmpty {
                let job = jobs.removeFirst()
                condition.unlock()
                job()
                condition.lock()
                continue
            }
            if stopping { break }
            idle += 1
            condition.wait()
            idle -= 1
        }
        started -= 1
        condition.unlock()
    }

    private static let marker = "tessera.invocation-thread"

    /// Whether the caller runs on one of these threads (for assertions and tests).
    public static var isInvocationThread: Bool {
        Thread.current.threadDictionary[marker] as? Bool ?? false
    }

    /// Jobs waiting for a thread.
    var waitingJobs: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }

    /// Lets the threads end once the queue is empty; later jobs are refused.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }
}
