import Cell
import Foundation
import Keyspace
import Logging
import NIOCore
import Storage
import Wire

/// The cells of one event loop. Every method runs on `loop`, so a cell's state
/// has one owner and the hot path takes no lock. The disk pipeline is the
/// simulator's: readies queue while one group commit is in flight, and
/// everything a ready holds (messages, applies, replies) happens only once the
/// store says its group is durable.
final class Shard: @unchecked Sendable {
    let index: Int
    let loop: any EventLoop
    let services: NodeServices
    var cells: [UInt64: HostedCell] = [:]

    /// What waits for the next group commit; `blocking` entries hold their ready's effects until durable.
    private var diskQueue: [(cell: HostedCell, ready: Ready, group: DiskGroup, blocking: Bool)] = []
    private var syncing = false
    var outgoing: [NodeID: [CellEnvelope]] = [:]
    /// Snapshots this node's leaders stream to followers, by cell and peer.
    var uploads: [UploadKey: SnapshotUpload] = [:]
    /// Snapshots arriving for this shard's cells, by cell.
    var downloads: [UInt64: SnapshotDownload] = [:]
    /// The last snapshot each cell received whole, and when (late resends of it are ignored).
    var receivedSnapshots: [UInt64: (identity: SnapshotIdentity, at: Instant)] = [:]
    private var endOfPassScheduled = false
    var committedEntries: UInt64 = 0
    /// Applied log bytes the shard's cells keep in memory (bounded by ``NodeLimits/shardLogBytesMaximum``).
    private(set) var retainedLogBytes = 0
    var stopping = false

    init(index: Int, loop: any EventLoop, services: NodeServices) {
        self.index = index
        self.loop = loop
        self.services = services
    }

    var now: Instant { services.clock() }
    var isIdle: Bool { !syncing && diskQueue.isEmpty }

    // MARK: Cells

    /// The hosted cell, created empty on first use (a cell nobody wrote costs nothing).
    func cell(_ id: UInt64, forClient: Bool = false) -> HostedCell? {
        loop.assertInEventLoop()
        if let hosted = cells[id] {
            // A leaderless cell a client needs elects now (restored cells wait for this).
            if forClient, hosted.replica.leader == nil, hosted.replica.nextDeadline == nil {
                hosted.replica.campaignSoon(now: now)
                scheduleTick(hosted)
            }
            return hosted
        }
        guard services.hostedCells.contains(id) else { return nil }
        let replica = CellReplica(me: services.layout.me, configuration: services.layout.replicas(of: id),
                                  options: services.cellOptions, now: now, randomSeed: UInt64.random(in: .min ... .max))
        if forClient { replica.campaignSoon(now: now) }
        let hosted = HostedCell(cell: id, replica: replica, stateMachine: newState(id))
        cells[id] = hosted
        scheduleTick(hosted)
        return hosted
    }

    /// A cell's state in the page store, before anything is read of it.
    func newState(_ cell: UInt64) -> PageCellState {
        PageCellState(cell: cell, cellDepth: services.layout.configuration.cellDepth, store: services.store,
                      configuration: services.layout.replicas(of: cell))
    }

    /// Installs a cell restored from the store at startup.
    func adopt(_ cell: UInt64, persisted: PersistedReplicaState, state: PageCellState) {
        let replica = CellReplica(me: services.layout.me, configuration: services.layout.replicas(of: cell),
                                  options: services.cellOptions, now: now, randomSeed: UInt64.random(in: .min ... .max),
                                  restoring: persisted)
        replica.campaignOnFirstUse()
        cells[cell] = HostedCell(cell: cell, replica: replica, stateMachine: state)
    }

    /// Starts every adopted cell (their first ready applies what was committed before the restart).
    func startAdoptedCells() {
        for hosted in cells.values { drive(hosted) }
        flushOutgoing()
    }

    // MARK: Inputs

    func receive(_ envelopes: [CellEnvelope], from peer: NodeID) {
        guard !stopping else { return }
        let time = now
        var touched: [HostedCell] = []
        for envelope in envelopes {
            // Snapshots arrive as streams only: an inline one names no file this node staged.
            if case .installSnapshot = envelope.message { continue }
            guard let hosted = cell(envelope.cell) else { continue }
            hosted.replica.step(envelope.message, from: peer, now: time)
            if touched.last !== hosted { touched.append(hosted) }
        }
        for hosted in touched { drive(hosted) }
        finishPassSoon()
    }

    /// The node layer suspects `peer`: cells it leads look for a new leader, and
    /// cells led here stop sending to it.
    func peerSuspected(_ peer: NodeID) {
        let time = now
        for hosted in cells.values {
            hosted.replica.peerUnreachable(peer)
            if hosted.replica.leader == peer {
                hosted.replica.leaderSuspected(now: time)
                drive(hosted)
            } else if hosted.replica.role == .leader {
                drive(hosted)  // a leader cut off from its quorum steps down when its lease ends
            }
        }
        finishPassSoon()
    }

    /// `peer` is back or newly connected: cells led here catch it up.
    func peerReachable(_ peer: NodeID) {
        let time = now
        for hosted in cells.values where hosted.replica.role == .leader {
            hosted.replica.peerReachable(peer, now: time)
            drive(hosted)
        }
        finishPassSoon()
    }

    private func tick(_ hosted: HostedCell) {
        hosted.scheduledTick = nil
        hosted.scheduledTickAt = nil
        guard !stopping else { return }
        hosted.replica.tick(now: now)
        drive(hosted)
        finishPassSoon()
    }

    func scheduleTick(_ hosted: HostedCell) {
        guard let deadline = hosted.replica.nextDeadline else { return }
        if let scheduled = hosted.scheduledTickAt, scheduled <= deadline { return }
        hosted.scheduledTick?.cancel()
        let delay = max(deadline - now, .zero)
        hosted.scheduledTickAt = deadline
        hosted.scheduledTick = loop.scheduleTask(in: .nanoseconds(delay.nanosecondsValue)) { [self] in tick(hosted) }
    }

    // MARK: The ready cycle

    /// Takes a replica's ready: effects wait for the disk when something must be
    /// durable first, or when an earlier ready of the same cell still waits.
    func drive(_ hosted: HostedCell) {
        let ready = hosted.replica.takeReady()
        for (to, message) in ready.earlyMessages { queue(message, to: to, from: hosted) }
        if !ready.isEmpty {
            if ready.mustSync || hosted.readiesInFlight > 0 {
                hosted.readiesInFlight += 1
                var group = DiskGroup(logChanges: [CellLog.change(for: ready, of: hosted.cell)])
                if let snapshot = ready.snapshot {
                    // The leader's snapshot replaces the cell's state in the same record that resets its log.
                    group.updates = install(snapshot, hosted)
                }
                diskQueue.append((hosted, ready, group, true))
                finishPassSoon()
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
        noticeRoleChange(hosted)
        serveWaitingReads(hosted)
        hosted.replica.releaseSnapshotIfDelivered()
        forgetReleasedSnapshot(hosted)
        scheduleTick(hosted)
    }

    private func complete(_ ready: Ready, _ hosted: HostedCell) {
        for (to, message) in ready.messages { queue(message, to: to, from: hosted) }
        apply(ready, hosted)
        hosted.replica.advance(ready, now: now)
        // An installed snapshot lives in the page store now, not in memory.
        if ready.snapshot != nil { hosted.replica.releaseSnapshot() }
        if ready.snapshotWanted { provideSnapshot(hosted) }
        compactIfDue(hosted)
    }

    /// Every `compactionInterval` applied entries, or once the applied log holds
    /// ``NodeLimits/cellLogBytesMaximum``, the replica drops its log through the
    /// applied index: the page store holds that state already (on disk, the log
    /// is truncated with every apply).
    private func compactIfDue(_ hosted: HostedCell) {
        if retainedLogBytes > NodeLimits.shardLogBytesMaximum {
            for other in cells.values where other.appliedBytesSinceSnapshot > 0 { compactLog(other) }
            return
        }
        let applied = hosted.stateMachine.appliedIndex
        guard applied >= hosted.replica.latestSnapshotIndex + services.compactionInterval
            || hosted.appliedBytesSinceSnapshot >= NodeLimits.cellLogBytesMaximum else { return }
        compactLog(hosted)
    }

    private func compactLog(_ hosted: HostedCell) {
        // A snapshot being built or streamed needs the entries after its index, to follow it.
        let applied = hosted.stateMachine.appliedIndex
        let through = min(applied, snapshotIndexInUse(hosted) ?? .max)
        hosted.replica.compactLog(through: through)
        // Held back, the log keeps its bytes (and counts toward the hold's bound).
        guard through == applied else { return }
        retainedLogBytes -= hosted.appliedBytesSinceSnapshot
        hosted.appliedBytesSinceSnapshot = 0
    }

    /// Replaces the cell's state with a snapshot from its leader; the writes go with the log reset.
    private func install(_ snapshot: Snapshot, _ hosted: HostedCell) -> [ItemUpdate] {
        // A build under way reads a state this install replaces.
        hosted.snapshotBuild?.cancel()
        hosted.snapshotBuild = nil
        do {
            var staged = snapshot
            staged.state = try stateBytes(of: snapshot)
            return try hosted.stateMachine.install(staged)
        } catch let error as CellCommand.DecodingError {
            services.logger.critical("a snapshot from the leader does not decode; stopping", metadata: [
                "cell": "\(String(hosted.cell, radix: 16))", "error": "\(error.reason)"])
            exit(65)
        } catch {
            stopOnStorageFailure(error, cell: hosted.cell)
        }
    }

    /// The store failed to read or write: durability and the cell's state can no longer be vouched for.
    func stopOnStorageFailure(_ error: any Error, cell: UInt64) -> Never {
        services.logger.critical("storage failed; stopping the node", metadata: [
            "cell": "\(String(cell, radix: 16))", "error": "\(error)"])
        exit(74)
    }

    /// Group commit across the shard's cells: every ready queued so far becomes
    /// one WAL record with one sync (shared with other shards' records in the
    /// store's commit round). Starts when something waits for a sync (`force`:
    /// also for lazy writes alone).
    func startSync(force: Bool = false) {
        guard !syncing, force ? !diskQueue.isEmpty : diskQueue.contains(where: \.blocking) else { return }
        let batch = diskQueue
        diskQueue = []
        syncing = true
        var group = DiskGroup()
        for queued in batch { group.append(queued.group) }
        let blocking = batch.filter(\.blocking).map { ($0.cell, $0.ready) }
        // The store calls back on its commit thread: the rest happens on this loop.
        services.store.commitGroup(updates: group.updates, logChanges: group.logChanges) { [self] result in
            loop.execute { [self] in
                if case .failure(let error) = result {
                    // A store closed by a clean shutdown fails what was still queued: nothing was acknowledged.
                    if stopping, case StorageError.closed = error { return }
                    // Durability can no longer be promised: stop rather than acknowledge anything.
                    services.logger.critical("storage write failed; stopping the node", metadata: ["error": "\(error)"])
                    exit(74)
                }
                completeSync(blocking)
            }
        }
    }

    private func completeSync(_ batch: [(cell: HostedCell, ready: Ready)]) {
        syncing = false
        for (hosted, ready) in batch {
            hosted.readiesInFlight -= 1
            complete(ready, hosted)
        }
        for (hosted, _) in batch { drive(hosted) }
        flushOutgoing()
        startSync(force: stopping)
    }

    /// Sends and syncs once per pass of the loop rather than once per input:
    /// the requests and messages that arrived together share one chain of
    /// store writes and one frame per peer.
    func finishPassSoon() {
        guard !endOfPassScheduled else { return }
        endOfPassScheduled = true
        loop.execute { [self] in
            endOfPassScheduled = false
            flushOutgoing()
            startSync()
        }
    }

    /// Sends what this pass produced: one frame per peer, many cells in it.
    func flushOutgoing() {
        guard !outgoing.isEmpty else { return }
        let messages = outgoing
        outgoing = [:]
        for (peer, envelopes) in messages { services.transport.send(envelopes, to: peer) }
    }

    // MARK: Applying

    /// Applies the committed entries into the page store, then hands their
    /// writes over with the applied index and the log truncation through it,
    /// as one record: nothing waits for it to be durable (the entries are
    /// durable on a quorum; after a crash they are applied again from the log).
    private func apply(_ ready: Ready, _ hosted: HostedCell) {
        if ready.snapshot != nil { hosted.answerAllPendingWrites(Self.outcomeUnknown) }
        var lastApplied: LogEntry?
        for entry in ready.committed where entry.index > hosted.stateMachine.appliedIndex {
            precondition(entry.isIntact, "log entry \(entry.index) of cell \(hosted.cell) changed after it was checked")
            let outcome: (command: CellCommand, result: CellCommandResult)?
            do {
                outcome = try hosted.stateMachine.apply(entry)
            } catch {
                stopOnStorageFailure(error, cell: hosted.cell)
            }
            if case .configuration(let members) = entry.payload { hosted.stateMachine.configuration = members.sorted() }
            lastApplied = entry
            committedEntries += 1
            hosted.appliedBytesSinceSnapshot += entry.payloadBytes
            retainedLogBytes += entry.payloadBytes
            guard let pending = hosted.takePendingWrite(at: entry.index) else { continue }
            if let (command, result) = outcome, command.clientID == pending.command.clientID,
                command.sequence == pending.command.sequence {
                pending.responder.send(Self.response(to: result))
            } else {
                // Another leader's entry took this slot: the request was not applied here; a retry is safe.
                pending.responder.send(.notLeader(leader: leaderMemberID(hosted)))
            }
        }
        guard let lastApplied else { return }
        hosted.stateMachine.appliedBallot = lastApplied.ballot
        let updates = hosted.stateMachine.takeUpdates()
        recordPreimages(of: updates, hosted)
        let truncation = LogChange(log: hosted.cell, truncation: .compact(through: lastApplied.index))
        services.store.commitGroup(updates: updates, logChanges: [truncation], lazy: true) { [self] result in
            guard case .failure(let error) = result else { return }
            loop.execute { [self] in
                if stopping, case StorageError.closed = error { return }
                stopOnStorageFailure(error, cell: hosted.cell)
            }
        }
    }

    static let outcomeUnknown = ClientResponse.Body.error(
        .timeout, "leadership of the cell moved while the write was in flight; it may or may not have been applied")

    static func response(to result: CellCommandResult) -> ClientResponse.Body {
        switch result {
        case .applied(let version): .written(version: version)
        case .conditionFailed(let write, let version): .conditionFailed(write: UInt32(write), currentVersion: version)
        case .expired: .error(.expired, "the request was retried after its client declared it finished; its outcome is unknown")
        }
    }

    func leaderMemberID(_ hosted: HostedCell) -> String? {
        hosted.replica.leader.map { services.layout.member($0).id }
    }

    /// A replica that stopped leading answers what waits on it with a redirect;
    /// the clients retry there with the same request ids, so nothing applies twice.
    private func noticeRoleChange(_ hosted: HostedCell) {
        let isLeader = hosted.replica.role == .leader
        defer { hosted.wasLeader = isLeader }
        if isLeader && !hosted.wasLeader {
            for peer in services.transport.suspectedPeers { hosted.replica.peerUnreachable(peer) }
        }
        guard hosted.wasLeader, !isLeader else { return }
        let hint = leaderMemberID(hosted)
        // Proposed writes may still commit under the next leader: their outcome is unknown.
        hosted.answerAllPendingWrites(Self.outcomeUnknown)
        for pending in hosted.pendingReads { pending.responder.send(.notLeader(leader: hint)) }
        hosted.pendingReads = []
    }
}
