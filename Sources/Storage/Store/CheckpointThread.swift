import Foundation

/// Runs one checkpoint at a time on a thread of its own. A failed checkpoint
/// fails the store, as a failed WAL write does: after a failed write or sync
/// the files' state is unknown, so nothing more is acknowledged.
final class CheckpointThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var running = false
    private let committer: GroupCommitter
    /// Runs the work on the caller's thread instead (a store committed by its caller).
    private let inline: Bool

    init(committer: GroupCommitter, inline: Bool) {
        self.committer = committer
        self.inline = inline
    }

    /// Starts `work` on a new thread. The store begins a checkpoint only once
    /// the previous one is current, whose thread may still be finishing: wait for it.
    func run(_ work: @escaping @Sendable () throws -> Void) {
        if inline {
            do {
                try work()
            } catch {
                committer.fail(Store.failure("a checkpoint failed", error))
            }
            return
        }
        condition.lock()
        while running { condition.wait() }
        running = true
        condition.unlock()
        let thread = Thread { [self] in
            do {
                try work()
            } catch {
                committer.fail(Store.failure("a checkpoint failed", error))
            }
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "tessera-checkpoint"
        thread.start()
    }

    /// Waits for the checkpoint in progress, if any, to finish.
    func waitUntilIdle() {
        condition.lock()
        while running { condition.wait() }
        condition.unlock()
    }
}
