import Foundation
import Synchronization
import Testing

/// Marks tests that compute for long stretches without awaiting (simulator seeds,
/// exhaustive crash schedules, fuzzing). Each such test runs on a thread of its own,
/// never on Swift's cooperative pool, and at most ``CPUBoundSlots/width`` of them run
/// at once.
///
/// Why: the pool has one thread per core. A synchronous test that computes for a
/// minute holds one of them, and on two cores two such tests starve every other
/// test's tasks: a client waiting on a 2 s deadline is resumed seconds late and
/// fails. On threads of their own they share the cores through the kernel's
/// scheduler, which gives every runnable thread its slice.
public struct CPUBound: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    @TaskLocal static var isInScope = false

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> CPUBound? {
        test.isSuite || testCase == nil ? nil : self
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Nested (a `.cpuBound` test in a `.cpuBound` suite): the outer scope's slot and thread serve.
        if Self.isInScope { return try await function() }
        try await CPUBoundSlots.shared.withSlot {
            let executor = DedicatedThreadExecutor(name: "cpu-bound")
            defer { executor.shutDown() }
            let start = ContinuousClock.now
            try await Self.$isInScope.withValue(true) {
                try await withTaskExecutorPreference(executor) { try await function() }
            }
            if ProcessInfo.processInfo.environment["TESSERA_CPU_BOUND_REPORT"] != nil {
                print("cpu-bound: \(test.name) ran \(ContinuousClock.now - start)")
            }
        }
    }
}

extension Trait where Self == CPUBound {
    /// Runs the test (or every test of the suite) on a thread of its own; see ``CPUBound``.
    public static var cpuBound: Self { CPUBound() }
}

/// Admission of CPU-bound tests: as many at once as the machine has cores, so that
/// they do not pile up hundreds of threads; the kernel shares the cores between
/// them, the pool's tasks and the real-process tests (measured on 2 cores: 275 s for
/// the suite with 2 at once, 474 s with 1). `TESSERA_CPU_BOUND_TESTS=N` overrides it.
public final class CPUBoundSlots: Sendable {
    public static let shared = CPUBoundSlots(
        width: ProcessInfo.processInfo.environment["TESSERA_CPU_BOUND_TESTS"].flatMap { Int($0) }
            ?? max(1, ProcessInfo.processInfo.activeProcessorCount))

    public let width: Int
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    init(width: Int) { self.width = max(1, width) }

    public func withSlot<T>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state in
                if state.running < width {
                    state.running += 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()  // the slot passes straight to the next test
        }
        next?.resume()
    }
}

/// A task executor with one thread of its own, for as long as one test runs.
final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var isShutDown = false
    private var threadEnded = false

    init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        guard !threadEnded else {
            // A task the test left behind (a timer, say) that prefers this executor:
            // its thread is gone, so a pool thread runs the job.
            condition.unlock()
            let executor = asUnownedTaskExecutor()
            DispatchQueue.global().async { job.runSynchronously(on: executor) }
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// The thread ends once every job enqueued so far has run.
    func shutDown() {
        condition.lock()
        isShutDown = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !isShutDown { condition.wait() }
            if jobs.isEmpty {
                threadEnded = true
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
