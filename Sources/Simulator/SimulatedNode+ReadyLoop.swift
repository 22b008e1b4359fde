import Cell
import CellHost
import Storage

/// A simulated node hosts the node's ready loop as a shard does: the same
/// group commit into the same store, on a `SimulatedDisk` whose writes and
/// syncs are events of the simulation.
extension SimulatedNode: ReadyLoopHost {
    var now: Instant { localNow(simulation.now) }
    var isStopping: Bool { false }

    func send(_ message: CellMessage, to peer: NodeID, from hosted: SimulatedCell) {
        simulation.report.cellMessages += 1
        simulation.transmit(.deliver(from: id, to: peer, cell: Int(hosted.cell), message: message), from: id, to: peer)
    }

    /// As a shard does: the inputs of one pass of the loop share a sync.
    func syncWanted() {
        guard !passEndScheduled else { return }
        passEndScheduled = true
        simulation.push(.passEnd(node: id, incarnation: incarnation), after: 0)
    }

    /// The store completes writes inside a commit round; the loop goes on in an event of its own.
    func onHostThread(_ body: @escaping @Sendable () -> Void) {
        simulation.push(.run(node: id, incarnation: incarnation, body), after: 0)
    }

    func didCompleteSync() { simulation.scheduleCommitRound(self) }

    var installFiles: any InstallFiles { installFilesKept }

    func willInstallSnapshot(_ hosted: SimulatedCell) {
        // Their clients time out and count the outcome as unknown.
        hosted.pendingWrites = [:]
    }

    func didInstallSnapshot(_ hosted: SimulatedCell, _ summary: InstallSummary, seconds: Double) {
        simulation.report.snapshotsInstalled += 1
        // Now and then the power goes right away, before the install's writes are durable:
        // the node must finish the install from the retained snapshot when it restarts.
        let oneIn = simulation.options.crashAfterInstallOneIn
        if oneIn > 0, simulation.faultsActive, simulation.options.faults.contains(.crash), simulation.random.int(0..<oneIn) == 0 {
            simulation.push(.diskFailed(node: id, incarnation: incarnation), after: 0)
        }
    }

    func didApply(_ entry: LogEntry, outcome: (command: CellCommand, result: CellCommandResult)?, in hosted: SimulatedCell) {
        simulation.noteApplied(entry, cell: Int(hosted.cell), on: id)
        guard let request = hosted.pendingWrites.removeValue(forKey: entry.index) else { return }
        if let (command, result) = outcome, case .write(let asked) = request.kind,
            command.clientID == asked.clientID, command.sequence == asked.sequence {
            simulation.respond(.written(result), to: request, from: self)
        }
    }

    func willHandOver(_ updates: [ItemUpdate], of hosted: SimulatedCell) {}

    /// Written at once, from the page store, at the replica's applied index
    /// (a snapshot installed meanwhile may have moved the replica ahead: then a later ready asks again).
    func snapshotWanted(_ hosted: SimulatedCell) {
        let index = hosted.stateMachine.appliedIndex
        guard index == hosted.replica.appliedIndex, !hosted.stateMachine.hasPendingWrites else { return }
        do {
            let state = try hosted.stateMachine.encodedSnapshot()
            simulation.report.snapshotsProvided += 1
            hosted.replica.provideSnapshot(state: state, index: index, now: now)
        } catch {
            storageFailed(error, cell: hosted.cell)
        }
    }

    func snapshotIndexInUse(_ hosted: SimulatedCell) -> LogIndex? { nil }

    func didDrive(_ hosted: SimulatedCell) {
        simulation.serveWaitingReads(self, hosted)
        hosted.replica.releaseSnapshotIfDelivered()
        simulation.scheduleTick(self, Int(hosted.cell))
    }

    /// The disk failed (a planned crash point): the node loses power, as a real one stops.
    func storageFailed(_ error: any Error, cell: UInt64?) {
        simulation.push(.diskFailed(node: id, incarnation: incarnation), after: 0)
    }

    func snapshotUndecodable(_ reason: String, cell: UInt64) {
        simulation.violation("cell \(cell) on \(id): a snapshot does not decode: \(reason)")
    }
}
