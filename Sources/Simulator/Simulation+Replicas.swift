import Cell

extension Simulation {
    /// Collects a replica's ready and queues it for the node's disk; everything a
    /// ready holds happens only once the fsync that covers it completes.
    func drive(_ node: SimulatedNode, _ cell: Int) {
        guard let hosted = node.hosted[cell] else { return }
        checkLease(cell)
        let ready = hosted.replica.takeReady()
        for (to, message) in ready.earlyMessages {
            report.cellMessages += 1
            transmit(.deliver(from: node.id, to: to, cell: cell, message: message), from: node.id, to: to)
        }
        if !ready.isEmpty {
            node.diskQueue.append((cell, ready))
            if node.syncing.isEmpty { startSync(node) }
        }
        serveWaitingReads(node, hosted)
        hosted.replica.releaseSnapshotIfDelivered()
        scheduleTick(node, cell)
    }

    /// Group commit: one fsync covers every ready queued so far.
    func startSync(_ node: SimulatedNode) {
        guard !node.diskQueue.isEmpty else { return }
        node.syncing = node.diskQueue
        node.diskQueue = []
        let needsSync = node.syncing.contains { $0.ready.mustSync }
        if needsSync { report.fsyncs += 1 }
        push(.diskSynced(node: node.id, incarnation: node.incarnation),
             after: needsSync ? random.nanoseconds(50_000...2_000_000) : 0)
    }

    func completeSync(_ node: SimulatedNode) {
        let batch = node.syncing
        node.syncing = []
        for (cell, ready) in batch { node.durable[cell]!.persist(ready) }
        for (cell, ready) in batch {
            guard let hosted = node.hosted[cell] else { continue }
            for (to, message) in ready.messages {
                report.cellMessages += 1
                transmit(.deliver(from: node.id, to: to, cell: cell, message: message), from: node.id, to: to)
            }
            apply(ready, node, hosted)
            hosted.replica.advance(ready, now: node.localNow(now))
            // A snapshot only of the state at the replica's applied index (a snapshot
            // installed meanwhile may have moved the replica ahead: then a later
            // ready asks again).
            if ready.snapshotWanted, hosted.stateMachine.appliedIndex == hosted.replica.appliedIndex {
                report.snapshotsProvided += 1
                hosted.replica.provideSnapshot(state: hosted.stateMachine.encoded(), now: node.localNow(now))
            }
            if ready.snapshot != nil { hosted.replica.releaseSnapshot() }
            drive(node, cell)
        }
        if node.syncing.isEmpty { startSync(node) }
    }

    func apply(_ ready: Ready, _ node: SimulatedNode, _ hosted: HostedReplica) {
        if let snapshot = ready.snapshot {
            do {
                try hosted.stateMachine.restore(snapshot)
            } catch {
                violation("cell \(hosted.cell) on \(node.id): snapshot at \(snapshot.index) does not decode: \(error.reason)")
            }
            hosted.pendingWrites = [:]
        }
        for entry in ready.committed where entry.index > hosted.stateMachine.appliedIndex {
            if let first = committedEntries[hosted.cell]?[entry.index] {
                if first != entry {
                    violation("cell \(hosted.cell) slot \(entry.index) committed as \(first.ballot) and again as \(entry.ballot) on \(node.id)")
                }
            } else {
                committedEntries[hosted.cell, default: [:]][entry.index] = entry
                report.commits += 1
            }
            let outcome = hosted.stateMachine.apply(entry)
            if let request = hosted.pendingWrites.removeValue(forKey: entry.index) {
                if let (command, result) = outcome, case .write(let asked) = request.kind,
                    command.clientID == asked.clientID, command.sequence == asked.sequence
                {
                    respond(.written(result), to: request, from: node)
                }
            }
        }
        let replica = hosted.replica
        if hosted.stateMachine.appliedIndex >= replica.latestSnapshotIndex + options.compactionInterval {
            let index = hosted.stateMachine.appliedIndex
            // As the page store does: the state is durable by itself, the log is
            // compacted without a snapshot, and one is made when a follower needs it.
            replica.compactLog(through: index)
            if let ballot = committedEntries[hosted.cell]?[index]?.ballot {
                node.durable[hosted.cell]!.compact(Snapshot(
                    index: index, ballot: ballot, configuration: replica.configuration, state: hosted.stateMachine.encoded()))
            }
        }
    }

    func scheduleTick(_ node: SimulatedNode, _ cell: Int) {
        guard let hosted = node.hosted[cell], let deadline = hosted.replica.nextDeadline else { return }
        let time = node.realTime(of: deadline, after: now)
        if let scheduled = hosted.scheduledTick, scheduled <= time { return }
        hosted.scheduledTick = time
        queue.push(.tick(node: node.id, cell: cell, incarnation: node.incarnation), at: time)
    }

    // MARK: Serving clients

    func serve(_ request: ClientRequest, at node: SimulatedNode) {
        guard node.isUp else { return }
        guard let hosted = node.hosted[request.cell] else {
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
                respond(.value(hosted.value(of: key)), to: request, from: node)
            } else if replica.canServeLeaseRead(now: local) {
                report.leaseReads += 1
                respond(.value(hosted.value(of: key)), to: request, from: node)
            } else if replica.role == .leader {
                hosted.pendingReads.append(request)
                replica.renewLease(now: local)
                drive(node, request.cell)
            } else {
                respond(.notLeader(hint: replica.leader), to: request, from: node)
            }
        }
    }

    func serveWaitingReads(_ node: SimulatedNode, _ hosted: HostedReplica) {
        guard !hosted.pendingReads.isEmpty, hosted.replica.canServeLeaseRead(now: node.localNow(now)) else { return }
        let reads = hosted.pendingReads
        hosted.pendingReads = []
        for request in reads {
            guard case .read(let key, _) = request.kind else { continue }
            report.leaseReads += 1
            respond(.value(hosted.value(of: key)), to: request, from: node)
        }
    }

    /// A replica that lost leadership answers its waiting reads with a redirect.
    func expireReads(_ node: SimulatedNode, _ hosted: HostedReplica) {
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
