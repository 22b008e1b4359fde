import Cell
import CellHost

extension Simulation {
    /// Hands a replica's ready to its node's ready loop (the server's code).
    func drive(_ node: SimulatedNode, _ cell: Int) {
        guard let hosted = node.hosted(cell) else { return }
        checkLease(cell)
        node.pipeline?.drive(hosted)
    }

    /// The end of a pass of the node's loop: its readies start a group commit.
    func endPass(_ node: SimulatedNode) {
        node.passEndScheduled = false
        node.pipeline?.startSync()
        scheduleCommitRound(node)
    }

    /// A commit round when the store has one to do: its write first, its sync
    /// a while later, so that a crash between them finds the write torn or lost.
    func scheduleCommitRound(_ node: SimulatedNode) {
        guard !node.commitRoundScheduled, node.store?.hasCommitWork == true else { return }
        node.commitRoundScheduled = true
        push(.diskWrite(node: node.id, incarnation: node.incarnation), after: random.nanoseconds(0...100_000))
    }

    func writeCommitRound(_ node: SimulatedNode) {
        guard let store = node.store else { return }
        do {
            try store.writeCommitRound()
        } catch {
            return node.storageFailed(error, cell: nil)
        }
        report.fsyncs += 1
        push(.diskSynced(node: node.id, incarnation: node.incarnation), after: random.nanoseconds(50_000...2_000_000))
    }

    func syncCommitRound(_ node: SimulatedNode) {
        guard let store = node.store else { return }
        node.commitRoundScheduled = false
        do {
            try store.syncCommitRound()
        } catch {
            return node.storageFailed(error, cell: nil)
        }
        scheduleCommitRound(node)
    }

    /// A committed slot never changes: the first entry any replica applied there is the one every replica applies.
    func noteApplied(_ entry: LogEntry, cell: Int, on node: NodeID) {
        if let first = committedEntries[cell]?[entry.index] {
            if first != entry {
                violation("cell \(cell) slot \(entry.index) committed as \(first.ballot) and again as \(entry.ballot) on \(node)")
            }
        } else {
            committedEntries[cell, default: [:]][entry.index] = entry
            report.commits += 1
        }
    }

    func scheduleTick(_ node: SimulatedNode, _ cell: Int) {
        guard let hosted = node.hosted(cell), let deadline = hosted.replica.nextDeadline else { return }
        let time = node.realTime(of: deadline, after: now)
        if let scheduled = hosted.scheduledTick, scheduled <= time { return }
        hosted.scheduledTick = time
        queue.push(.tick(node: node.id, cell: cell, incarnation: node.incarnation), at: time)
    }

    // MARK: Serving clients

    func serve(_ request: ClientRequest, at node: SimulatedNode) {
        guard node.isUp else { return }
        guard let hosted = node.hosted(request.cell) else {
            respond(.notLeader(hint: nil), to: request, from: node)
            return
        }
        let replica = hosted.replica
        let local = node.localNow(now)
        switch request.kind {
        case .write(let command):
            switch replica.propose(.command(command.encoded()), now: local) {
            case .accepted(let index, _):
                hosted.pendingWrites[index] = request
                drive(node, request.cell)
            default:
                respond(.notLeader(hint: replica.leader), to: request, from: node)
            }
        case .read(let key, let strong):
            if !strong {
                read(key, request, from: node, hosted)
            } else if replica.canServeLeaseRead(now: local) {
                report.leaseReads += 1
                read(key, request, from: node, hosted)
            } else if replica.role == .leader {
                hosted.pendingReads.append(request)
                replica.renewLease(now: local)
                drive(node, request.cell)
            } else {
                respond(.notLeader(hint: replica.leader), to: request, from: node)
            }
        case .queueRead:
            if replica.canServeLeaseRead(now: local) {
                report.leaseReads += 1
                answerRead(request, from: node, hosted)
            } else if replica.role == .leader {
                hosted.pendingReads.append(request)
                replica.renewLease(now: local)
                drive(node, request.cell)
            } else {
                respond(.notLeader(hint: replica.leader), to: request, from: node)
            }
        }
    }

    /// Answers a register or queue read from the page store (a failing disk takes the node down instead).
    private func answerRead(_ request: ClientRequest, from node: SimulatedNode, _ hosted: SimulatedCell) {
        switch request.kind {
        case .read(let key, _): read(key, request, from: node, hosted)
        case .queueRead(let key, let from):
            do {
                respond(.queueRead(try queueRead(key, from: from, hosted)), to: request, from: node)
            } catch {
                node.storageFailed(error, cell: hosted.cell)
            }
        case .write: break
        }
    }

    /// Answers a read from the page store (a failing disk takes the node down instead).
    private func read(_ key: String, _ request: ClientRequest, from node: SimulatedNode, _ hosted: SimulatedCell) {
        do {
            respond(.value(try hosted.value(of: key)), to: request, from: node)
        } catch {
            node.storageFailed(error, cell: hosted.cell)
        }
    }

    func serveWaitingReads(_ node: SimulatedNode, _ hosted: SimulatedCell) {
        guard !hosted.pendingReads.isEmpty, hosted.replica.canServeLeaseRead(now: node.localNow(now)) else { return }
        let reads = hosted.pendingReads
        hosted.pendingReads = []
        for request in reads {
            report.leaseReads += 1
            answerRead(request, from: node, hosted)
        }
    }

    /// A replica that lost leadership answers its waiting reads with a redirect.
    func expireReads(_ node: SimulatedNode, _ hosted: SimulatedCell) {
        guard hosted.replica.role != .leader, !hosted.pendingReads.isEmpty else { return }
        for request in hosted.pendingReads { respond(.notLeader(hint: hosted.replica.leader), to: request, from: node) }
        hosted.pendingReads = []
    }

    func respond(_ response: ClientResponse, to request: ClientRequest, from node: SimulatedNode) {
        // Clients sit on their own machines: the answer crosses the network like any message.
        report.messages += 1
        if faultsActive && options.faults.contains(.drop) && random.chance(0.03) { return }
        push(.response(client: request.client, operation: request.operation, response), after: random.nanoseconds(100_000...900_000))
    }
}
