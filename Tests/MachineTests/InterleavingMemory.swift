import Foundation
import Keyspace
import Machine
import TestSupport

/// A global memory in a dictionary whose callers take turns in an order a
/// seeded generator picks: a deterministic interleaving of concurrent
/// invocations of the real VM, for checking lock-free programs.
///
/// ``run(clients:_:)`` starts one thread per client (``ProgramRunner/invoke``
/// blocks) but lets only the thread holding the turn proceed. At every
/// scheduling point (each `load`, `write` and `compareAndSwap`, and each
/// ``beginOperation()``) the holder joins the waiting clients, the generator
/// picks the next holder among them (the caller included), and the caller
/// blocks until the turn comes back to it. A client that finishes leaves the
/// pool and passes the turn on, so while anyone waits someone holds the turn.
/// Every wait is bounded: no turn handed on for `stallTimeout`, or a run
/// longer than `runTimeout`, fails the run (its clients' host calls then throw
/// ``MachineError/memoryUnavailable(call:reason:)``) instead of hanging.
///
/// All of a client's code runs while it holds the turn, so the logical clock
/// (one tick per scheduling point and per ``now()``), the words, the ids of
/// ``uniqueID()`` and a runner's pointer cache go the same way for the same
/// seed: the histories are deterministic per seed.
final class InterleavingMemory: GlobalMemory, @unchecked Sendable {
    /// No turn handed on for this long fails the run (the holder is stuck).
    let stallTimeout: TimeInterval
    /// One call of ``run(clients:_:)`` taking longer than this fails.
    let runTimeout: TimeInterval

    // Everything below is guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var words: [Key: [UInt8]] = [:]
    private var random: SplitMix64
    private var clock = 0
    private var lastID: Int64 = 0
    /// The client allowed to run; nil between runs and once a run has failed.
    private var turn: Int?
    /// Clients waiting for the turn, ascending, so that a pick depends on the generator only.
    private var waiting: [Int] = []
    private var clients = 0
    private var arrived = 0
    private var finished = 0
    private var lastHandOff = Date()
    private var runDeadline = Date.distantFuture
    private var failure: String?
    private var failedAt = Date.distantFuture

    init(seed: UInt64, stallTimeout: TimeInterval = 30, runTimeout: TimeInterval = 120) {
        random = SplitMix64(seed: seed)
        self.stallTimeout = stallTimeout
        self.runTimeout = runTimeout
    }

    // MARK: Runs

    /// Runs `body(client)` for clients `0..<count`, each on a thread of its own
    /// and one at a time as the turn passes, and returns once all have
    /// returned: nil, or why the run failed. The first turn is handed out when
    /// every thread waits for it. Runs may follow one another on the same
    /// memory (the clock, the words and the generator go on); not after a failure.
    func run(clients count: Int, _ body: @escaping @Sendable (_ client: Int) -> Void) -> String? {
        precondition(count > 0, "a run needs a client")
        condition.lock()
        if let failure {
            condition.unlock()
            return "an earlier run failed: \(failure)"
        }
        precondition(clients == 0, "one run at a time")
        clients = count
        arrived = 0
        finished = 0
        waiting = []
        turn = nil
        lastHandOff = Date()
        runDeadline = Date(timeIntervalSinceNow: runTimeout)
        condition.unlock()

        for client in 0..<count {
            let thread = Thread { [self] in
                if admit(client) { body(client) }
                leave(client)
            }
            thread.name = "interleaving-\(client)"
            thread.stackSize = 8 << 20
            thread.start()
        }

        condition.lock()
        defer { condition.unlock() }
        while finished < count {
            if failure == nil {
                let limit = min(runDeadline, lastHandOff.addingTimeInterval(stallTimeout))
                if Date() >= limit {
                    fail(timeoutReason())
                } else {
                    _ = condition.wait(until: limit)
                }
            } else {
                // Released, the threads leave at their next scheduling point: wait for them a bounded while.
                let limit = failedAt.addingTimeInterval(stallTimeout)
                if Date() >= limit {
                    // Abandoned: the failure keeps this memory from running again.
                    return "\(failure ?? "the run failed"); \(count - finished) of \(count) client threads did not finish"
                }
                _ = condition.wait(until: limit)
            }
        }
        clients = 0
        turn = nil
        return failure
    }

    /// A new client thread waits with the others; the last to arrive hands out the first turn.
    private func admit(_ client: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        enqueue(client)
        arrived += 1
        if arrived == clients { handOff() }
        return awaitTurn(client)
    }

    /// A client whose work is done leaves the pool and passes the turn on.
    private func leave(_ client: Int) {
        condition.lock()
        defer { condition.unlock() }
        waiting.removeAll { $0 == client }
        finished += 1
        if turn == client { handOff() }
        condition.broadcast()
    }

    // MARK: Turns (lock held)

    private func enqueue(_ client: Int) {
        let index = waiting.firstIndex { $0 > client } ?? waiting.endIndex
        waiting.insert(client, at: index)
    }

    /// Gives the turn to a waiting client the generator picks; nil when none waits or the run failed.
    private func handOff() {
        guard failure == nil, !waiting.isEmpty else {
            turn = nil
            return
        }
        turn = waiting.remove(at: random.int(0..<waiting.count))
        lastHandOff = Date()
        condition.broadcast()
    }

    /// Blocks until `client` holds the turn (true) or the run has failed (false).
    private func awaitTurn(_ client: Int) -> Bool {
        while turn != client {
            if failure != nil { return false }
            let limit = min(runDeadline, lastHandOff.addingTimeInterval(stallTimeout))
            if Date() >= limit {
                fail(timeoutReason())
                return false
            }
            _ = condition.wait(until: limit)
        }
        return true
    }

    private func timeoutReason() -> String {
        let holder = turn.map { "client \($0)" } ?? "no client"
        let state = "at step \(clock), \(holder) holding the turn, \(finished) of \(clients) clients finished"
        if Date() >= runDeadline {
            return "the run took longer than \(Int(runTimeout)) s (\(state))"
        }
        return "no turn was handed on for \(Int(stallTimeout)) s (\(state))"
    }

    /// Stops the scheduling: every waiting client is released and every later scheduling point throws.
    private func fail(_ reason: String) {
        if failure == nil {
            failure = reason
            failedAt = Date()
        }
        turn = nil
        condition.broadcast()
    }

    /// A scheduling point of the client holding the turn: the generator picks
    /// who goes next (the caller included) and the caller waits for the turn
    /// to come back. Returns the step at which it did.
    private func yieldTurn(_ call: String) throws(MachineError) -> Int {
        guard failure == nil, let client = turn else {
            throw .memoryUnavailable(call: call, reason: "the interleaving stopped: \(failure ?? "no client holds the turn")")
        }
        enqueue(client)
        handOff()
        guard awaitTurn(client) else {
            throw .memoryUnavailable(call: call, reason: "the interleaving stopped: \(failure ?? "the run failed")")
        }
        clock += 1
        return clock
    }

    // MARK: For the clients (while holding the turn)

    /// Starts an operation: a scheduling point, so any waiting client may go
    /// first. Returns the operation's invocation time.
    func beginOperation() throws(MachineError) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return try yieldTurn("begin")
    }

    /// The time now, an operation's return time: a tick, not a scheduling point.
    func now() -> Int {
        condition.lock()
        defer { condition.unlock() }
        clock += 1
        return clock
    }

    /// Ids for the `unique_id` host call: 1, 2, 3… in the order the turn holders ask.
    func uniqueID() -> Int64 {
        condition.lock()
        defer { condition.unlock() }
        lastID += 1
        return lastID
    }

    // MARK: GlobalMemory: each call is a scheduling point, then acts at once.

    func load(_ word: Key) throws(MachineError) -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        _ = try yieldTurn("load")
        return words[word]
    }

    func write(_ word: Key, value: [UInt8]?) throws(MachineError) {
        condition.lock()
        defer { condition.unlock() }
        _ = try yieldTurn("write")
        words[word] = value
    }

    func compareAndSwap(_ word: Key, expected: [UInt8]?, desired: [UInt8]?) throws(MachineError) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        _ = try yieldTurn("cas")
        guard words[word] == expected else { return false }
        words[word] = desired
        return true
    }
}
