import Cell
import CellHost
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
final class Shard: ReadyLoopHost, @unchecked Sendable {
    let index: Int
    let loop: any EventLoop
    let services: NodeServices
    /// The node's ready loop for this shard's cells: the simulator runs the same one.
    private(set) var pipeline: ReadyLoop<Shard>!
    var cells: [UInt64: ShardCell] {
        get { pipeline.cells }
        // In place: a copy per insert would make adopting many cells quadratic.
        _modify { yield &pipeline.cells }
    }

    var outgoing: [NodeID: [CellEnvelope]] = [:]
    /// Snapshots this node's leaders stream to followers, by cell and peer.
    var uploads: [UploadKey: SnapshotUpload] = [:]
    /// Snapshots arriving for this shard's cells, by cell.
    var downloads: [UInt64: SnapshotDownload] = [:]
    /// The last snapshot each cell received whole, and when (late resends of it are ignored).
    var receivedSnapshots: [UInt64: (identity: SnapshotIdentity, at: Instant)] = [:]
    private var endOfPassScheduled = false
    var stopping = false

    init(index: Int, loop: any EventLoop, services: NodeServices) {
        self.index = index
        self.loop = loop
        self.services = services
        pipeline = ReadyLoop(host: self, store: services.store, limits: ReadyLoop.Limits(
            compactionInterval: services.compactionInterval, cellLogBytesMaximum: NodeLimits.cellLogBytesMaximum,
            loopLogBytesMaximum: NodeLimits.shardLogBytesMaximum, followerHoldBytesMaximum: NodeLimits.cellFollowerHoldBytesMaximum))
    }

    var now: Instant { services.clock() }
    var isStopping: Bool { stopping }
    var isIdle: Bool { pipeline.isIdle }
    var committedEntries: UInt64 { pipeline.committedEntries }

    // MARK: Cells

    /// The hosted cell, created empty on first use (a cell nobody wrote costs nothing).
    func cell(_ id: UInt64, forClient: Bool = false) -> ShardCell? {
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
        let hosted = ShardCell(cell: id, replica: replica, stateMachine: newState(id))
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
        cells[cell] = ShardCell(cell: cell, replica: replica, stateMachine: state)
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
        var touched: [ShardCell] = []
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

    private func tick(_ hosted: ShardCell) {
        hosted.scheduledTick = nil
        hosted.scheduledTickAt = nil
        guard !stopping else { return }
        hosted.replica.tick(now: now)
        drive(hosted)
        finishPassSoon()
    }

    func scheduleTick(_ hosted: ShardCell) {
        guard let deadline = hosted.replica.nextDeadline else { return }
        if let scheduled = hosted.scheduledTickAt, scheduled <= deadline { return }
        hosted.scheduledTick?.cancel()
        let delay = max(deadline - now, .zero)
        hosted.scheduledTickAt = deadline
        hosted.scheduledTick = loop.scheduleTask(in: .nanoseconds(delay.nanosecondsValue)) { [self] in tick(hosted) }
    }

    // MARK: The ready loop's host

    /// Takes a replica's ready through the ready loop.
    func drive(_ hosted: ShardCell) { pipeline.drive(hosted) }

    func startSync(force: Bool = false) { pipeline.startSync(force: force) }

    func send(_ message: CellMessage, to peer: NodeID, from hosted: ShardCell) {
        queue(message, to: peer, from: hosted)
    }

    func syncWanted() { finishPassSoon() }

    func onHostThread(_ body: @escaping @Sendable () -> Void) { loop.execute(body) }

    func didCompleteSync() { flushOutgoing() }

    var installFiles: any InstallFiles { services.snapshotFiles }

    func willInstallSnapshot(_ hosted: ShardCell) {
        // A build under way reads a state this install replaces.
        hosted.snapshotBuild?.cancel()
        hosted.snapshotBuild = nil
        // The cell's queues come back staged: what this node had gathered of them no longer counts.
        services.extents.forgetCell(hosted.cell)
        // Writes proposed here may still commit under the leader that sent it: their outcome is unknown.
        hosted.answerAllPendingWrites(Self.outcomeUnknown)
    }

    func didInstallSnapshot(_ hosted: ShardCell, _ summary: InstallSummary, seconds: Double) {
        // Again: a gather that ran between the install's decision and its writes read the old state.
        services.extents.forgetCell(hosted.cell)
        services.logger.info("snapshot installed", metadata: [
            "cell": "\(String(hosted.cell, radix: 16))", "index": "\(summary.index)", "bytes": "\(summary.stateBytes)",
            "itemsWritten": "\(summary.itemsWritten)", "itemsDeleted": "\(summary.itemsDeleted)",
            "walRecords": "\(summary.groups)", "seconds": "\(String(format: "%.2f", seconds))"])
    }

    func didApply(_ entry: LogEntry, outcome: (command: CellCommand, result: CellCommandResult)?, in hosted: ShardCell) {
        if let (command, result) = outcome { noteQueueOutcome(command, result, cell: hosted.cell) }
        guard let pending = hosted.takePendingWrite(at: entry.index) else { return }
        if let (command, result) = outcome, command.clientID == pending.command.clientID,
            command.sequence == pending.command.sequence {
            pending.responder.send(Self.response(to: result))
        } else {
            // Another leader's entry took this slot: the request was not applied here; a retry is safe.
            pending.responder.send(.notLeader(leader: leaderMemberID(hosted)))
        }
    }

    func willHandOver(_ updates: [ItemUpdate], of hosted: ShardCell) { recordPreimages(of: updates, hosted) }

    func snapshotWanted(_ hosted: ShardCell) { provideSnapshot(hosted) }

    func didDrive(_ hosted: ShardCell) {
        noticeRoleChange(hosted)
        serveWaitingReads(hosted)
        hosted.replica.releaseSnapshotIfDelivered()
        forgetReleasedSnapshot(hosted)
        scheduleTick(hosted)
    }

    /// The store failed to read or write: durability and the cell's state can no longer be vouched for.
    func storageFailed(_ error: any Error, cell: UInt64?) {
        services.logger.critical("storage failed; stopping the node", metadata: [
            "cell": "\(cell.map { String($0, radix: 16) } ?? "-")", "error": "\(error)"])
        exit(74)
    }

    func snapshotUndecodable(_ reason: String, cell: UInt64) {
        services.logger.critical("a snapshot from the leader does not decode; stopping", metadata: [
            "cell": "\(String(cell, radix: 16))", "error": "\(reason)"])
        exit(65)
    }

    func stopOnStorageFailure(_ error: any Error, cell: UInt64) -> Never {
        storageFailed(error, cell: cell)
        fatalError("unreachable: storageFailed exits")
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

    static let outcomeUnknown = ClientResponse.Body.error(
        .timeout, "leadership of the cell moved while the write was in flight; it may or may not have been applied")

    static func response(to result: CellCommandResult) -> ClientResponse.Body {
        switch result {
        case .applied(let version): .written(version: version)
        case .conditionFailed(let write, let version): .conditionFailed(write: UInt32(write), currentVersion: version)
        case .expired: .error(.expired, "the request was retried after its client declared it finished; its outcome is unknown")
        case .queue(let outcome): .queueOutcome(outcome)
        }
    }

    func leaderMemberID(_ hosted: ShardCell) -> String? {
        hosted.replica.leader.map { services.layout.member($0).id }
    }

    /// A replica that stopped leading answers what waits on it with a redirect;
    /// the clients retry there with the same request ids, so nothing applies twice.
    private func noticeRoleChange(_ hosted: ShardCell) {
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
