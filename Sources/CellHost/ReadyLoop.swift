import Cell
import Storage

/// What a runtime gives the ready loop: a clock, a network, a thread to come
/// back to, and the parts of a node the loop does not own (client requests,
/// snapshot files). A node's shard (SwiftNIO) and a simulated node (the
/// seeded simulator) are the two hosts; the loop is the same code in both.
public protocol ReadyLoopHost: AnyObject, SendableMetatype {
    associatedtype Hosted: HostedCell

    /// The host's clock, as its replicas read it.
    var now: Instant { get }
    /// Shutting down: a store closed under the loop is not a failure.
    var isStopping: Bool { get }
    /// Sends a replica's message to a peer's replica of the same cell.
    func send(_ message: CellMessage, to peer: NodeID, from hosted: Hosted)
    /// A ready waits for a sync: call ``ReadyLoop/startSync(force:)`` soon
    /// (once inputs that arrive together are in, so that they share it).
    func syncWanted()
    /// Runs `body` on the host's thread: the store completes writes on its own.
    func onHostThread(_ body: @escaping @Sendable () -> Void)
    /// After a group commit completed and its readies were handled.
    func didCompleteSync()
    /// Where snapshots the replicas install are kept until their install is durable.
    var installFiles: any InstallFiles { get }
    /// The cell's state is about to be replaced by a leader's snapshot.
    func willInstallSnapshot(_ hosted: Hosted)
    /// The cell's state was replaced (its last writes are on their way to the disk).
    func didInstallSnapshot(_ hosted: Hosted, _ summary: InstallSummary, seconds: Double)
    /// An entry was applied: `outcome` is what its command did (nil for other entries).
    func didApply(_ entry: LogEntry, outcome: (command: CellCommand, result: CellCommandResult)?, in hosted: Hosted)
    /// These writes are about to be handed to the store (a snapshot being built keeps what they overwrite).
    func willHandOver(_ updates: [ItemUpdate], of hosted: Hosted)
    /// A follower is behind the log: the replica wants a snapshot of the state at its applied index.
    func snapshotWanted(_ hosted: Hosted)
    /// The index of a snapshot being made or sent: the log is not compacted past it.
    func snapshotIndexInUse(_ hosted: Hosted) -> LogIndex?
    /// A ready was taken and handed on: the host answers what waits on the replica and sets its timer.
    func didDrive(_ hosted: Hosted)
    /// The store failed: nothing more may be acknowledged. The loop stops.
    func storageFailed(_ error: any Error, cell: UInt64?)
    /// A leader's snapshot does not decode. The loop stops.
    func snapshotUndecodable(_ reason: String, cell: UInt64)
}

/// A node's ready loop: each replica's ready goes to the write-ahead log,
/// its effects follow once the log says it is durable, and its committed
/// entries are applied into the page store. Readies of many cells that wait
/// together become one WAL record with one sync (group commit).
///
/// The order, per ready: early messages (nothing waits for the disk) → one
/// durable record (entries, hard state, an installed snapshot with its log
/// reset) → messages → apply committed entries (their writes, the applied
/// index and the log truncation through it go as one lazy record: they are
/// durable on a quorum, and after a crash they are applied again) → advance.
///
/// Sans-I/O but for the store, whose commits the host drives: on their own
/// threads on a node, as events of the simulation under `SimulatedDisk`.
/// Owned by the host's thread; every method runs there.
public final class ReadyLoop<Host: ReadyLoopHost>: @unchecked Sendable {
    public struct Limits: Sendable {
        /// The log is compacted once this many entries were applied beyond its base.
        public var compactionInterval: UInt64
        /// …or once a cell's applied log holds this many bytes,
        public var cellLogBytesMaximum: Int
        /// …or once all cells of the loop hold this many.
        public var loopLogBytesMaximum: Int
        /// A leader compacts only through what its followers hold, as long as
        /// its cell keeps at most this many applied bytes (and the loop is under
        /// its own bound): a follower a few entries behind then catches up from
        /// the log instead of needing a snapshot.
        public var followerHoldBytesMaximum: Int

        public init(compactionInterval: UInt64, cellLogBytesMaximum: Int, loopLogBytesMaximum: Int,
                    followerHoldBytesMaximum: Int) {
            precondition(followerHoldBytesMaximum <= loopLogBytesMaximum,
                         "a follower hold of \(followerHoldBytesMaximum) bytes exceeds the loop's log bound of \(loopLogBytesMaximum)")
            self.compactionInterval = compactionInterval
            self.cellLogBytesMaximum = cellLogBytesMaximum
            self.loopLogBytesMaximum = loopLogBytesMaximum
            self.followerHoldBytesMaximum = followerHoldBytesMaximum
        }
    }

    private unowned let host: Host
    public let store: Store
    public let limits: Limits
    public var cells: [UInt64: Host.Hosted] = [:]

    /// What waits for the next group commit; `blocking` entries hold their ready's effects until durable.
    private var diskQueue: [(hosted: Host.Hosted, ready: Ready, group: DiskGroup, blocking: Bool)] = []
    /// The readies the group commit in flight holds back, if one is.
    private var syncingBatch: [(hosted: Host.Hosted, ready: Ready)]?
    public var syncing: Bool { syncingBatch != nil }
    /// Entries applied since the loop started.
    public private(set) var committedEntries: UInt64 = 0
    /// Applied log bytes the cells keep in memory (bounded by ``Limits/loopLogBytesMaximum``).
    public private(set) var retainedLogBytes = 0
    /// The store failed, or a snapshot did not decode: nothing more happens.
    public private(set) var halted = false

    public init(host: Host, store: Store, limits: Limits) {
        self.host = host
        self.store = store
        self.limits = limits
    }

    public var isIdle: Bool { !syncing && diskQueue.isEmpty }

    // MARK: The ready cycle

    /// Takes a replica's ready: effects wait for the disk when something must be
    /// durable first, or when an earlier ready of the same cell still waits.
    public func drive(_ hosted: Host.Hosted) {
        guard !halted else { return }
        let ready = hosted.replica.takeReady()
        if let snapshot = ready.snapshot {
            // Entries handed out before it would be applied on top of the install's writes.
            precondition(snapshot.index >= hosted.committedHandedOutThrough,
                         "cell \(hosted.cell) installs a snapshot at \(snapshot.index) after entries through \(hosted.committedHandedOutThrough) were handed out to apply")
        }
        if let last = ready.committed.last { hosted.committedHandedOutThrough = max(hosted.committedHandedOutThrough, last.index) }
        for (to, message) in ready.earlyMessages { host.send(message, to: to, from: hosted) }
        if !ready.isEmpty {
            if ready.mustSync || hosted.readiesInFlight > 0 {
                hosted.readiesInFlight += 1
                var group = DiskGroup(logChanges: [CellLog.change(for: ready, of: hosted.cell)])
                if let snapshot = ready.snapshot {
                    // The install is noted in the record that resets the log; its writes follow once that is durable.
                    guard let marker = stageInstall(snapshot, hosted) else { return }
                    hosted.stagedInstalls.append((marker, false))
                    group.updates = [hosted.stateMachine.installMarkerUpdate(marker)]
                    // The replica dropped the applied entries the snapshot covers; entries
                    // applied from here on (this ready's, after its index) count anew.
                    retainedLogBytes -= hosted.appliedBytesSinceSnapshot
                    hosted.appliedBytesSinceSnapshot = 0
                }
                diskQueue.append((hosted, ready, group, true))
                host.syncWanted()
            } else {
                if ready.hardState != nil {
                    // Only the commit index moved: it rides along with the next sync and
                    // nothing waits for it (after a crash it is learned again).
                    diskQueue.append((hosted, Ready(), DiskGroup(logChanges: [CellLog.change(for: ready, of: hosted.cell)]), false))
                }
                complete(ready, hosted)
                drive(hosted)
                return
            }
        }
        host.didDrive(hosted)
    }

    private func complete(_ ready: Ready, _ hosted: Host.Hosted) {
        guard !halted else { return }
        if let snapshot = ready.snapshot {
            let (marker, written) = hosted.stagedInstalls.removeFirst()
            precondition(written && snapshot.index == marker.index,
                         "cell \(hosted.cell) staged an install at \(marker.index) for a ready at \(snapshot.index)")
            // A later install whose record went with this one's replaced its marker: that stays, for it.
            // One still queued writes its marker after this install's writes.
            install(marker, hosted, clearingMarker: !hosted.stagedInstalls.contains { $0.written })
            guard !halted else { return }
        }
        for (to, message) in ready.messages { host.send(message, to: to, from: hosted) }
        apply(ready, hosted)
        guard !halted else { return }
        hosted.replica.advance(ready, now: host.now)
        // An installed snapshot lives in the page store now, not in memory.
        if ready.snapshot != nil { hosted.replica.releaseSnapshot() }
        if ready.snapshotWanted { host.snapshotWanted(hosted) }
        compactIfDue(hosted)
    }

    /// Every `compactionInterval` applied entries, or once the applied log holds
    /// too many bytes, the replica drops its log through the applied index: the
    /// page store holds that state already (on disk, the log is truncated with
    /// every apply).
    private func compactIfDue(_ hosted: Host.Hosted) {
        if retainedLogBytes > limits.loopLogBytesMaximum {
            for other in cells.values where other.appliedBytesSinceSnapshot > 0 { compactLog(other) }
            return
        }
        let applied = hosted.stateMachine.appliedIndex
        guard applied >= hosted.replica.latestSnapshotIndex + limits.compactionInterval
            || hosted.appliedBytesSinceSnapshot >= limits.cellLogBytesMaximum else { return }
        compactLog(hosted)
    }

    private func compactLog(_ hosted: Host.Hosted) {
        // A snapshot being built or streamed needs the entries after its index, to follow it.
        let applied = hosted.stateMachine.appliedIndex
        var through = min(applied, host.snapshotIndexInUse(hosted) ?? .max)
        if retainedLogBytes <= limits.loopLogBytesMaximum,
           hosted.appliedBytesSinceSnapshot <= limits.followerHoldBytesMaximum,
           let held = hosted.replica.followersMatchedThrough {
            through = min(through, held)
        }
        // Held back, the log keeps the rest of its bytes (and they count toward the holds' bounds).
        let droppedBytes = hosted.replica.compactLog(through: through)
        precondition(droppedBytes <= hosted.appliedBytesSinceSnapshot,
                     "cell \(hosted.cell) dropped \(droppedBytes) log bytes with \(hosted.appliedBytesSinceSnapshot) applied since the last compaction")
        retainedLogBytes -= droppedBytes
        hosted.appliedBytesSinceSnapshot -= droppedBytes
    }

    /// Keeps a leader's snapshot for its install and checks it whole, while
    /// the cell's state is still intact: nil when it cannot be (the loop stops).
    private func stageInstall(_ snapshot: Snapshot, _ hosted: Host.Hosted) -> InstallMarker? {
        host.willInstallSnapshot(hosted)
        do {
            let reference = try host.installFiles.retain(snapshot, cell: hosted.cell)
            try PageCellState.validate(try host.installFiles.open(reference, cell: hosted.cell))
            return InstallMarker(index: snapshot.index, ballot: snapshot.ballot, configuration: snapshot.configuration,
                                 reference: reference)
        } catch let error as CellCommand.DecodingError {
            halted = true
            host.snapshotUndecodable(error.reason, cell: hosted.cell)
        } catch {
            fail(error, cell: hosted.cell)
        }
        return nil
    }

    /// Replaces the cell's state with the staged snapshot's, its marker and log
    /// reset being durable: on this thread, in bounded groups of lazy writes.
    private func install(_ marker: InstallMarker, _ hosted: Host.Hosted, clearingMarker: Bool) {
        let cell = hosted.cell
        let started = ContinuousClock.now
        do {
            let summary = try hosted.stateMachine.installStaged(marker, files: host.installFiles, clearingMarker: clearingMarker) { [self] result in
                guard case .failure(let error) = result else { return }
                host.onHostThread { [self] in
                    if host.isStopping, case StorageError.closed = error { return }
                    fail(error, cell: cell)
                }
            }
            let elapsed = ContinuousClock.now - started
            host.didInstallSnapshot(hosted, summary, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        } catch {
            if host.isStopping, case StorageError.closed = error {
                // Closed under a shutdown: nothing more happens here; the marker finishes it at the next start.
                halted = true
                return
            }
            fail(error, cell: cell)
        }
    }

    private func fail(_ error: any Error, cell: UInt64?) {
        guard !halted else { return }
        halted = true
        host.storageFailed(error, cell: cell)
    }

    // MARK: Group commit

    /// Whether a ready waits for a sync that has not started.
    public var hasBlockingWork: Bool { diskQueue.contains(where: \.blocking) }

    /// Group commit across the loop's cells: every ready queued so far becomes
    /// one WAL record with one sync (shared with other loops' records in the
    /// store's commit round). Starts when something waits for a sync (`force`:
    /// also for lazy writes alone).
    public func startSync(force: Bool = false) {
        guard !halted, !syncing, force ? !diskQueue.isEmpty : hasBlockingWork else { return }
        let batch = diskQueue
        diskQueue = []
        syncingBatch = batch.filter(\.blocking).map { ($0.hosted, $0.ready) }
        for queued in batch where queued.ready.snapshot != nil {
            let staged = queued.hosted.stagedInstalls.firstIndex { !$0.written }!
            queued.hosted.stagedInstalls[staged].written = true
        }
        var group = DiskGroup()
        for queued in batch { group.append(queued.group) }
        // The store calls back on its commit thread: the rest happens on the host's.
        store.commitGroup(updates: group.updates, logChanges: group.logChanges) { [self] result in
            host.onHostThread { [self] in
                if case .failure(let error) = result {
                    // A store closed by a clean shutdown fails what was still queued: nothing was acknowledged.
                    if host.isStopping, case StorageError.closed = error { return }
                    // Durability can no longer be promised: stop rather than acknowledge anything.
                    return fail(error, cell: nil)
                }
                completeSync()
            }
        }
    }

    private func completeSync() {
        guard !halted, let batch = syncingBatch else { return }
        syncingBatch = nil
        for (hosted, ready) in batch {
            hosted.readiesInFlight -= 1
            complete(ready, hosted)
        }
        for (hosted, _) in batch { drive(hosted) }
        guard !halted else { return }
        host.didCompleteSync()
        startSync(force: host.isStopping)
    }

    /// Writes of the node's own about a cell's items (its queues' extents
    /// replacing staged entries): they change how the state is kept, not what
    /// it is, so they go to the store like an apply's, between applies, after
    /// the host has kept pre-images for a snapshot being written.
    public func commitLocal(_ updates: [ItemUpdate], of hosted: Host.Hosted) {
        guard !halted, !updates.isEmpty else { return }
        precondition(!hosted.stateMachine.hasPendingWrites, "local writes between applying entries and handing over their writes")
        host.willHandOver(updates, of: hosted)
        let cell = hosted.cell
        store.commitGroup(updates: updates, logChanges: [], lazy: true) { [self] result in
            guard case .failure(let error) = result else { return }
            host.onHostThread { [self] in
                if host.isStopping, case StorageError.closed = error { return }
                fail(error, cell: cell)
            }
        }
    }

    // MARK: Applying

    /// Applies the committed entries into the page store, then hands their
    /// writes over with the applied index and the log truncation through it,
    /// as one record: nothing waits for it to be durable (the entries are
    /// durable on a quorum; after a crash they are applied again from the log).
    private func apply(_ ready: Ready, _ hosted: Host.Hosted) {
        var lastApplied: LogEntry?
        for entry in ready.committed where entry.index > hosted.stateMachine.appliedIndex {
            precondition(entry.isIntact, "log entry \(entry.index) of cell \(hosted.cell) changed after it was checked")
            precondition(entry.index == hosted.stateMachine.appliedIndex + 1,
                         "cell \(hosted.cell) applies entry \(entry.index) after \(hosted.stateMachine.appliedIndex)")
            let outcome: (command: CellCommand, result: CellCommandResult)?
            do {
                outcome = try hosted.stateMachine.apply(entry)
            } catch {
                return fail(error, cell: hosted.cell)
            }
            if case .configuration(let members) = entry.payload { hosted.stateMachine.configuration = members.sorted() }
            lastApplied = entry
            committedEntries += 1
            hosted.appliedBytesSinceSnapshot += entry.payloadBytes
            retainedLogBytes += entry.payloadBytes
            host.didApply(entry, outcome: outcome, in: hosted)
        }
        guard let lastApplied else { return }
        hosted.stateMachine.appliedBallot = lastApplied.ballot
        let updates = hosted.stateMachine.takeUpdates()
        host.willHandOver(updates, of: hosted)
        let cell = hosted.cell
        let truncation = LogChange(log: cell, truncation: .compact(through: lastApplied.index))
        store.commitGroup(updates: updates, logChanges: [truncation], lazy: true) { [self] result in
            guard case .failure(let error) = result else { return }
            host.onHostThread { [self] in
                if host.isStopping, case StorageError.closed = error { return }
                fail(error, cell: cell)
            }
        }
    }
}
