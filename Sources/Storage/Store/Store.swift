import Foundation
import Keyspace

/// A durable, thread-safe store in one data directory: the ``StorageEngine``
/// behind a lock, with a group committer.
///
/// Writers prepare their batch under the lock (conditions are decided there,
/// in one order) and then wait for the committer, which writes every record
/// prepared since its last round with one write and one fdatasync. While it
/// syncs, the next group gathers: many writers, one fsync. A write returns only
/// once its record is durable; a read returns only once what it saw is durable.
public final class Store: @unchecked Sendable {
    private let engineLock = NSLock()
    private let engine: StorageEngine
    private let committer: GroupCommitter
    public let path: String

    /// Opens (creating if needed) the store at `path`, recovering after a crash.
    public init(path: String, options: StorageOptions = StorageOptions()) throws {
        self.path = path
        let directory = try POSIXDirectory(path: path)
        engine = try StorageEngine(directory: directory, options: options)
        committer = GroupCommitter(durableSequence: engine.durableSequence)
        committer.start(store: self)
    }

    public var recoveryReport: RecoveryReport { engineLock.withLock { engine.recoveryReport } }
    public var statistics: StorageStatistics { engineLock.withLock { engine.statistics } }

    // MARK: Writes

    public func put(_ key: Key, value: [UInt8], condition: WriteCondition = .none) async throws -> WriteOutcome {
        try await single(.put(key, value, condition: condition))
    }

    public func delete(_ key: Key, condition: WriteCondition = .none) async throws -> WriteOutcome {
        try await single(.delete(key, condition: condition))
    }

    /// Applies every write or none, atomically, as one WAL record.
    public func write(_ batch: [Write]) async throws -> BatchOutcome {
        let prepared = try engineLock.withLock {
            try committer.checkOpen()
            let prepared = try engine.prepare(batch)
            if engine.hasPendingWAL { committer.signalWork() }
            return prepared
        }
        try await committer.waitUntilDurable(prepared.durableSequenceNeeded)
        return prepared.outcome
    }

    private func single(_ write: Write) async throws -> WriteOutcome {
        switch try await self.write([write]) {
        case .applied(let versions): .applied(version: versions[0])
        case .conditionFailed(_, let version): .conditionFailed(currentVersion: version)
        }
    }

    // MARK: Reads

    public func get(_ key: Key) async throws -> Item? {
        let (item, needed) = try engineLock.withLock { try engine.get(key) }
        try await committer.waitUntilDurable(needed)
        return item
    }

    public func query(_ key: Key, _ range: QueryRange = QueryRange()) async throws -> QueryPage {
        let (page, needed) = try engineLock.withLock { try engine.query(key, range) }
        try await committer.waitUntilDurable(needed)
        return page
    }

    // MARK: Lifecycle

    /// Forces a checkpoint now (one also starts by itself as the WAL grows).
    public func checkpoint() throws {
        try engineLock.withLock {
            try committer.checkOpen()
            try commitPending()
            try engine.checkpoint()
        }
    }

    /// Waits for in-flight writes, checkpoints and stops. Later calls fail with `.closed`.
    public func close() throws {
        committer.stop()
        try engineLock.withLock {
            try committer.closeForGood(reason: "closed by its owner")
            try engine.close()
        }
    }

    deinit {
        committer.stop()
    }

    // MARK: The committer's side

    /// One round of group commit, run on the committer thread.
    fileprivate func commitRound() throws {
        let (records, lastSequence) = engineLock.withLock { engine.takePendingWAL() }
        guard !records.isEmpty else { return }
        // Only the committer appends to the WAL, so the lock is not held for the I/O.
        try engine.wal.append(records)
        try engine.wal.sync()
        engineLock.withLock { engine.durableSequence = max(engine.durableSequence, lastSequence) }
        committer.markDurable(lastSequence)
        if engineLock.withLock({ engine.needsCheckpoint }) {
            try engineLock.withLock {
                try commitPending()
                try engine.checkpoint()
            }
        }
    }

    /// Under the engine lock: makes everything prepared durable (before a checkpoint).
    private func commitPending() throws {
        let durable = try engine.flush()
        committer.markDurable(durable)
    }
}

/// The committer thread and the writers waiting on it.
final class GroupCommitter: @unchecked Sendable {
    private let condition = NSCondition()
    private var workPending = false
    private var running = true
    private var thread: Thread?
    private var durableSequence: UInt64
    private var failure: StorageError?
    private var waiters: [(sequence: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []

    init(durableSequence: UInt64) {
        self.durableSequence = durableSequence
    }

    func start(store: Store) {
        let thread = Thread { [weak store, self] in
            while true {
                condition.lock()
                while !workPending && running { condition.wait() }
                let keepRunning = running || workPending
                workPending = false
                condition.unlock()
                guard keepRunning, let store else { return }
                do {
                    try store.commitRound()
                } catch {
                    // After a failed write or fsync the file's state is unknown:
                    // never retry (fsyncgate); fail every waiter and stop.
                    let reason = (error as? StorageError)?.description ?? "\(error)"
                    self.fail(StorageError.closed(reason: "a WAL write or sync failed: \(reason)"))
                    return
                }
            }
        }
        thread.name = "tessera-group-commit"
        self.thread = thread
        thread.start()
    }

    func signalWork() {
        condition.lock()
        workPending = true
        condition.signal()
        condition.unlock()
    }

    func checkOpen() throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
    }

    func waitUntilDurable(_ sequence: UInt64) async throws {
        if try isDurable(sequence) { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(sequence, continuation)
        }
    }

    private func isDurable(_ sequence: UInt64) throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        return sequence <= durableSequence
    }

    private func enqueue(_ sequence: UInt64, _ continuation: CheckedContinuation<Void, any Error>) {
        condition.lock()
        if let failure {
            condition.unlock()
            continuation.resume(throwing: failure)
        } else if sequence <= durableSequence {
            condition.unlock()
            continuation.resume()
        } else {
            waiters.append((sequence, continuation))
            condition.unlock()
        }
    }

    func markDurable(_ sequence: UInt64) {
        condition.lock()
        durableSequence = max(durableSequence, sequence)
        var ready: [CheckedContinuation<Void, any Error>] = []
        waiters.removeAll { waiter in
            if waiter.sequence <= sequence {
                ready.append(waiter.continuation)
                return true
            }
            return false
        }
        condition.unlock()
        for continuation in ready { continuation.resume() }
    }

    private func fail(_ error: StorageError) {
        condition.lock()
        if failure == nil { failure = error }
        let failed = waiters
        waiters = []
        condition.unlock()
        for waiter in failed { waiter.continuation.resume(throwing: error) }
    }

    func closeForGood(reason: String) throws {
        try checkOpen()
        fail(StorageError.closed(reason: reason))
    }

    /// Stops the thread after it has committed what is pending.
    func stop() {
        condition.lock()
        running = false
        condition.signal()
        condition.unlock()
        while let thread, !thread.isFinished { usleep(100) }
    }
}
