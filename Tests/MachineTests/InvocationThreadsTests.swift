import Foundation
@testable import Machine
import Testing

@Suite struct InvocationThreadsTests {
    @Test func jobsRunOffTheCooperativePoolAndReturnTheirResults() async throws {
        let threads = InvocationThreads(threadCount: 4, queueCapacity: 64)
        defer { threads.stop() }
        let marks = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<16 {
                group.addTask { try await threads.run { InvocationThreads.isInvocationThread } }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(marks.count == 16 && marks.allSatisfy { $0 })
        #expect(!InvocationThreads.isInvocationThread)
    }

    @Test func aFullQueueRefusesAtOnce() async throws {
        let threads = InvocationThreads(threadCount: 1, queueCapacity: 1)
        defer { threads.stop() }
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let blocker = Task { try await threads.run { started.signal(); release.wait() } }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { started.wait(); continuation.resume() }
        }
        let queued = Task { try await threads.run { 1 } }
        let deadline = ContinuousClock.now + .seconds(30)
        while threads.waitingJobs == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        var refused: MachineError?
        do { _ = try await threads.run { 2 } } catch { refused = error }
        release.signal()
        try await blocker.value
        #expect(try await queued.value == 1)
        guard case .overloaded(let reason) = refused else { Issue.record("no refusal: \(String(describing: refused))"); return }
        #expect(reason.contains("invocation threads are busy"))
    }
}
