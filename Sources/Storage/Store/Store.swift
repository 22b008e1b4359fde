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
    private let checkpointer: CheckpointThread
    public let path: String
    public let committing: Committing
    /// The last sequence a caller's commit round wrote and has not synced yet.
    private var roundWrittenThrough: UInt64?

    /// Who runs the store's commit rounds and checkpoints.
    public enum Committing: Sendable {
        /// A commit thread and a checkpoint thread of the store's own (a node).
        case ownThreads
        /// The caller, with ``runCommitRound()``, checkpoints included: one
        /// thread, in an order the caller decides (the deterministic simulator).
        case caller
    }

    /// Opens (creating if needed) the store at `path`, recovering after a crash.
    public convenience init(path: String, options: StorageOptions = StorageOptions()) throws {
        try self.init(directory: try POSIXDirectory(path: path), path: path, options: options)
    }

    /// Opens a store in `directory` (a simulated disk, in crash tests); `path` names it in messages.
    public init(directory: StorageDirectory, path: String, options: StorageOptions = StorageOptions(),
                committing: Committing = .ownThreads) throws {
        self.path = path
        self.committing = committing
        engine = try StorageEngine(directory: directory, options: options)
        committer = GroupCommitter(durableSequence: engine.durableSequence)
        checkpointer = CheckpointThread(committer: committer, inline: committing == .caller)
        if committing == .ownThreads { committer.start(store: self) }
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

    /// Applies every write or none, like ``write(_:)``, and calls `completion`
    /// once the batch is durable, on the store's commit thread (keep it short:
    /// hand the work to your own thread). For callers that are not async, such
    /// as event loops, this saves a hop through the concurrency runtime.
    public func write(_ batch: [Write], completion: @escaping @Sendable (Result<BatchOutcome, any Error>) -> Void) {
        let prepared: StorageEngine.PreparedWrite
        do {
            prepared = try engineLock.withLock {
                try committer.checkOpen()
                let prepared = try engine.prepare(batch)
                if engine.hasPendingWAL { committer.signalWork() }
                return prepared
            }
        } catch {
            return completion(.failure(error))
        }
        let outcome = prepared.outcome
        committer.whenDurable(prepared.durableSequenceNeeded) { error in
            completion(error.map { .failure($0) } ?? .success(outcome))
        }
    }

    /// A node's group commit: unconditional item writes and replicated-log
    /// changes, made durable as one WAL record, then `completion` runs on the
    /// commit thread (keep it short). See ``StorageEngine/prepareGroup(updates:logChanges:)``.
    /// A `lazy` record starts no sync of its own: it becomes durable with the
    /// next one (for writes nobody waits on, such as applying committed entries,
    /// which would otherwise put a second fsync in every write's path).
    public func commitGroup(updates: [ItemUpdate], logChanges: [LogChange], lazy: Bool = false,
                            completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let prepared: StorageEngine.PreparedWrite
        do {
            prepared = try engineLock.withLock {
                try committer.checkOpen()
                let prepared = try engine.prepareGroup(updates: updates, logChanges: logChanges)
                if engine.hasPendingWAL && !lazy { committer.signalWork() }
                return prepared
            }
        } catch {
            return completion(.failure(error))
        }
        committer.whenDurable(prepared.durableSequenceNeeded) { error in
            completion(error.map { .failure($0) } ?? .success(()))
        }
    }

    /// Reads the engine's current state (durable or not) under its lock: for an
    /// owner that orders its reads after its own writes. Keep `body` short.
    public func readNow<T>(_ body: (StorageEngine) throws -> T) throws -> T {
        try engineLock.withLock {
            try committer.checkOpen()
            return try body(engine)
        }
    }

    /// The replicated logs as they stand (at open: as recovered from the WAL).
    public var logs: [UInt64: StoredLog] { engineLock.withLock { engine.logs } }

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

    // MARK: Committing on the caller's thread

    /// Whether a commit round has work: a record waits that someone waits on (``Committing/caller`` only).
    public var hasCommitWork: Bool { committer.isWorkPending }

    /// One round of group commit on the caller's thread (``Committing/caller``
    /// only): writes and syncs every record prepared since the last round, calls
    /// the completions of what became durable, and runs a checkpoint when one is due.
    /// A failed write or sync fails the store for good, as on the commit thread.
    public func runCommitRound() throws {
        try writeCommitRound()
        try syncCommitRound()
    }

    /// The first half of ``runCommitRound()``: appends the prepared records
    /// to the WAL without syncing them, so that a crash before
    /// ``syncCommitRound()`` finds them torn or lost, as a machine's would.
    public func writeCommitRound() throws {
        precondition(committing == .caller, "the store's own thread runs its commit rounds")
        precondition(roundWrittenThrough == nil, "a commit round was written and not synced")
        committer.takeWork()
        roundWrittenThrough = try failingForGood { try writeRound() }
    }

    /// The second half of ``runCommitRound()``: syncs what was written, then
    /// completes its writers and runs a checkpoint if one is due.
    public func syncCommitRound() throws {
        precondition(committing == .caller, "the store's own thread runs its commit rounds")
        guard let written = roundWrittenThrough else { return }
        roundWrittenThrough = nil
        try failingForGood { try syncRound(through: written) }
    }

    /// After a failed write or sync the files' state is unknown: the store fails for good (fsyncgate).
    private func failingForGood<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            committer.fail(Self.failure("a WAL write or sync failed", error))
            throw error
        }
    }

    static func failure(_ what: String, _ error: any Error) -> StorageError {
        let reason = (error as? StorageError)?.description ?? "\(error)"
        return StorageError.closed(reason: "\(what): \(reason)")
    }

    // MARK: Lifecycle

    /// Waits for in-flight writes, checkpoints and stops. Later calls fail with `.closed`.
    public func close() throws {
        if committing == .caller {
            try syncCommitRound()
            while committer.isWorkPending { try runCommitRound() }
        }
        committer.stop()
        checkpointer.waitUntilIdle()
        try engineLock.withLock {
            try committer.closeForGood(reason: "closed by its owner")
            try engine.close()
        }
    }

    deinit {
        committer.stop()
        checkpointer.waitUntilIdle()
    }

    // MARK: The committer's side

    /// One round of group commit, run on the committer thread.
    fileprivate func commitRound() throws {
        guard let lastSequence = try writeRound() else { return try checkpointIfDue() }
        try syncRound(through: lastSequence)
    }

    /// Appends every record prepared so far to the WAL, unsynced; returns the last one's sequence.
    private func writeRound() throws -> UInt64? {
        let (records, lastSequence) = engineLock.withLock { engine.takePendingWAL() }
        guard !records.isEmpty else { return nil }
        // Only the committer appends to the WAL, so the lock is not held for the I/O.
        try engine.wal.append(records)
        return lastSequence
    }

    /// Syncs what ``writeRound()`` appended, completes its writers, and checkpoints when due.
    private func syncRound(through lastSequence: UInt64) throws {
        try engine.wal.sync()
        engineLock.withLock { engine.durableSequence = max(engine.durableSequence, lastSequence) }
        committer.markDurable(lastSequence)
        try checkpointIfDue()
    }

    /// Begins a checkpoint if the WAL grew enough since the last. Called
    /// where the WAL is appended (the commit round), so that the new segment
    /// starts between two records; written on a thread of its own (the
    /// caller's, for ``Committing/caller``), so that commits go on.
    private func checkpointIfDue() throws {
        guard engineLock.withLock({ engine.needsCheckpoint }) else { return }
        let job = try engineLock.withLock {
            try commitPending()
            return try engine.beginCheckpoint()
        }
        checkpointer.run { [weak self] in try self?.writeCheckpoint(job) }
    }

    // MARK: Backpressure

    /// WAL bytes past the last checkpoint's start that ``waitForDisk(checkpoints:)``
    /// lets a writer run ahead by: the changes they hold stay in memory until
    /// checkpointed.
    public var checkpointLagBytesMaximum: Int { 2 * engine.options.checkpointWALBytes }
    /// Bytes of lazy records ``waitForDisk(checkpoints:)`` lets wait in memory for a commit round.
    public static let pendingWALBytesMaximum = 16 << 20

    /// Blocks a writer that hands over far more than the disk keeps up with
    /// (a snapshot being installed), running commit rounds and checkpoints
    /// until what it handed over waits in memory no more than a bound: its
    /// records are written once more than ``pendingWALBytesMaximum`` bytes of
    /// them wait, and with `checkpoints`, the WAL holds at most
    /// ``checkpointLagBytesMaximum`` bytes since the last checkpoint began
    /// (the changes of those bytes stay in memory until checkpointed). Never
    /// call it from a completion (it waits for the commit thread).
    public func waitForDisk(checkpoints: Bool) throws {
        let bound = checkpointLagBytesMaximum
        func lagging() throws -> (bytes: Int, pending: Int, checkpointRunning: Bool) {
            try engineLock.withLock {
                try committer.checkOpen()
                return (engine.wal.bytesSinceCheckpoint + engine.pendingWALBytes, engine.pendingWALBytes,
                        engine.checkpointInProgress != nil)
            }
        }
        while true {
            let (bytes, pending, checkpointRunning) = try lagging()
            if !checkpoints || bytes <= bound {
                guard pending > Self.pendingWALBytesMaximum else { return }
                switch committing {
                case .caller:
                    try syncCommitRound()
                    try runCommitRound()
                case .ownThreads:
                    guard try committer.runRoundAndWait() else { throw StorageError.closed(reason: "the store is closing") }
                }
                continue
            }
            switch committing {
            case .caller:
                // Checkpoints run inside the round, on this thread (and begin even when nothing was left to write).
                try syncCommitRound()
                try runCommitRound()
                try checkpointIfDue()
            case .ownThreads:
                if checkpointRunning {
                    checkpointer.waitUntilIdle()
                } else {
                    // The round writes what is pending and begins the checkpoint now due.
                    guard try committer.runRoundAndWait() else { throw StorageError.closed(reason: "the store is closing") }
                }
            }
        }
    }

    /// Writes a checkpoint's pages with the lock released: held only to take a
    /// slice of changed collections and to make each step current, so reads
    /// and writes wait for at most a slice's bookkeeping, never for its I/O.
    private func writeCheckpoint(_ job: CheckpointJob) throws {
        while true {
            let slice = try engineLock.withLock { try engine.takeSlice(of: job) }
            if slice.isEmpty && job.isLaidOut { break }
            try engine.writeSlice(slice)
            try engineLock.withLock { try engine.finishSlice(slice, of: job) }
        }
        try engine.syncSlices()
        try makeDurable(through: job.capturedThrough)
        let metadata = try engineLock.withLock { try engine.layOutMetadata(of: job) }
        try engine.writeMetadata(metadata)
        try engineLock.withLock { try engine.finishCheckpoint(job, metadata) }
    }

    /// Before a checkpoint's superblock: the records whose writes its slices
    /// took must be durable first (see ``CheckpointJob/capturedThrough``).
    private func makeDurable(through sequence: UInt64) throws {
        guard engineLock.withLock({ engine.durableSequence }) < sequence else { return }
        // One thread appends to the WAL: the commit thread while it runs, else this one.
        if committing == .ownThreads, try committer.runRoundAndWait() { return }
        try engineLock.withLock { try commitPending() }
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
    /// Called once the sequence is durable (or with the failure), on the committer thread.
    typealias Waiter = @Sendable ((any Error)?) -> Void
    private var waiters: [(sequence: UInt64, notify: Waiter)] = []
    /// Commit rounds the thread has begun and finished (for ``runRoundAndWait()``).
    private var roundsStarted: UInt64 = 0
    private var roundsCompleted: UInt64 = 0
    private var threadEnded = false

    init(durableSequence: UInt64) {
        self.durableSequence = durableSequence
    }

    func start(store: Store) {
        let thread = Thread { [weak store, self] in
            defer {
                condition.withLock {
                    threadEnded = true
                    condition.broadcast()
                }
            }
            while true {
                condition.lock()
                while !workPending && running { condition.wait() }
                let keepRunning = running || workPending
                workPending = false
                roundsStarted += 1
                condition.unlock()
                guard keepRunning, let store else { return }
                do {
                    try store.commitRound()
                } catch {
                    // After a failed write or fsync the file's state is unknown:
                    // never retry (fsyncgate); fail every waiter and stop.
                    self.fail(Store.failure("a WAL write or sync failed", error))
                    return
                }
                condition.withLock {
                    roundsCompleted += 1
                    condition.broadcast()
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
        // Not signal(): a writer waiting in runRoundAndWait() could take the wake-up the thread needs.
        condition.broadcast()
        condition.unlock()
    }

    /// Asks for a commit round and waits until one that started after the
    /// request has finished: false if the thread ended first (the store is
    /// closing, and nothing appends to the WAL any more).
    func runRoundAndWait() throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        workPending = true
        condition.broadcast()
        let round = roundsStarted + 1
        while roundsCompleted < round && failure == nil && !threadEnded { condition.wait() }
        if let failure { throw failure }
        return roundsCompleted >= round
    }

    var isWorkPending: Bool { condition.withLock { workPending } }

    func takeWork() { condition.withLock { workPending = false } }

    func checkOpen() throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
    }

    func waitUntilDurable(_ sequence: UInt64) async throws {
        if try isDurable(sequence) { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            whenDurable(sequence) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    private func isDurable(_ sequence: UInt64) throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        return sequence <= durableSequence
    }

    /// Calls `notify` once `sequence` is durable: at once if it already is,
    /// else on the committer thread right after the fsync that covers it.
    func whenDurable(_ sequence: UInt64, _ notify: @escaping Waiter) {
        condition.lock()
        if let failure {
            condition.unlock()
            notify(failure)
        } else if sequence <= durableSequence {
            condition.unlock()
            notify(nil)
        } else {
            waiters.append((sequence, notify))
            condition.unlock()
        }
    }

    func markDurable(_ sequence: UInt64) {
        condition.lock()
        durableSequence = max(durableSequence, sequence)
        var ready: [Waiter] = []
        waiters.removeAll { waiter in
            if waiter.sequence <= sequence {
                ready.append(waiter.notify)
                return true
            }
            return false
        }
        condition.unlock()
        for notify in ready { notify(nil) }
    }

    func fail(_ error: StorageError) {
        condition.lock()
        if failure == nil { failure = error }
        let failed = waiters
        waiters = []
        condition.broadcast()
        condition.unlock()
        for waiter in failed { waiter.notify(error) }
    }

    func closeForGood(reason: String) throws {
        try checkOpen()
        fail(StorageError.closed(reason: reason))
    }

    /// Stops the thread after it has committed what is pending.
    func stop() {
        condition.lock()
        running = false
        condition.broadcast()
        condition.unlock()
        while let thread, !thread.isFinished { usleep(100) }
    }
}
