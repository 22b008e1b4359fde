import Cell

extension Simulation {
    func handle(_ event: Event) {
        // A paused node's events wait for it, keeping their order.
        if let node = recipient(of: event), let until = node.pausedUntil {
            if now < until { return push(event, after: until - now) }
            node.pausedUntil = nil
        }
        switch event {
        case .deliver(let from, let to, let cell, let message):
            let node = nodes[Int(to.rawValue)]
            guard node.isUp, let hosted = node.hosted(cell) else { return }
            hosted.replica.step(message, from: from, now: node.localNow(now))
            drive(node, cell)
        case .passEnd(let id, let incarnation):
            guard let node = running(id, incarnation) else { return }
            endPass(node)
        case .diskWrite(let id, let incarnation):
            guard let node = running(id, incarnation) else { return }
            writeCommitRound(node)
        case .diskSynced(let id, let incarnation):
            guard let node = running(id, incarnation) else { return }
            syncCommitRound(node)
        case .run(let id, let incarnation, let body):
            guard running(id, incarnation) != nil else { return }
            body()
        case .diskFailed(let id, let incarnation):
            guard let node = running(id, incarnation) else { return }
            powerLoss(node, loss: options.diskFailure?.loss ?? randomCrashLoss())
        case .tick(let id, let cell, let incarnation):
            guard let node = running(id, incarnation), let hosted = node.hosted(cell) else { return }
            hosted.scheduledTick = nil
            hosted.replica.tick(now: node.localNow(now))
            expireReads(node, hosted)
            drive(node, cell)
        case .heartbeatRound(let id, let incarnation):
            heartbeatRound(nodes[Int(id.rawValue)], incarnation: incarnation)
        case .heartbeat(let from, let to):
            let node = nodes[Int(to.rawValue)]
            guard node.isUp else { return }
            node.lastHeard[from] = node.localNow(now).nanoseconds
            if node.suspected.remove(from) != nil {
                // Back: leaders resume sending to it (and start its catch-up).
                for cell in node.hostedCells {
                    node.hosted(cell)!.replica.peerReachable(from, now: node.localNow(now))
                    drive(node, cell)
                }
            }
        case .request(let to, let request):
            serve(request, at: nodes[Int(to.rawValue)])
        case .response(let client, let operation, let response):
            receive(response, client: client, operation: operation)
        case .clientNext(let client):
            startOperation(client)
        case .clientDeadline(let client, let operation):
            giveUp(client, operation: operation)
        case .crash(let id):
            crash(nodes[Int(id.rawValue)])
        case .restart(let id):
            restart(nodes[Int(id.rawValue)])
        case .pause(let id):
            pause(nodes[Int(id.rawValue)])
        case .partition:
            partition()
        case .heal:
            blocked = []
        case .endFaults:
            endFaults()
        case .stopClients:
            clientsActive = false
        }
    }

    /// The node, if it is up and still the incarnation the event was for.
    func running(_ id: NodeID, _ incarnation: Int) -> SimulatedNode? {
        let node = nodes[Int(id.rawValue)]
        return node.isUp && node.incarnation == incarnation ? node : nil
    }

    /// The node an event runs on, if it runs on one.
    func recipient(of event: Event) -> SimulatedNode? {
        switch event {
        case .deliver(_, let to, _, _), .heartbeat(_, let to), .request(let to, _): nodes[Int(to.rawValue)]
        case .diskSynced(let id, _), .tick(let id, _, _), .heartbeatRound(let id, _), .passEnd(let id, _),
            .diskWrite(let id, _), .run(let id, _, _), .diskFailed(let id, _): nodes[Int(id.rawValue)]
        default: nil
        }
    }

    // MARK: Network

    /// Sends through the simulated network: lost, delayed, duplicated or blocked as the faults say.
    func transmit(_ event: Event, from: NodeID, to: NodeID) {
        report.messages += 1
        if from != to && blocked.contains([from.rawValue, to.rawValue]) {
            report.messagesDropped += 1
            return
        }
        if faultsActive && options.faults.contains(.drop) && random.chance(0.03) {
            report.messagesDropped += 1
            return
        }
        var latency = random.nanoseconds(100_000...900_000)
        if faultsActive && options.faults.contains(.delay) && random.chance(0.08) {
            latency += random.nanoseconds(0...60_000_000)
        }
        push(event, after: latency)
        if faultsActive && options.faults.contains(.duplicate) && random.chance(0.02) {
            push(event, after: latency + random.nanoseconds(0...20_000_000))
        }
    }

    func heartbeatRound(_ node: SimulatedNode, incarnation: Int) {
        guard node.isUp, node.incarnation == incarnation else { return }
        let local = node.localNow(now).nanoseconds
        for peer in nodes where peer.id != node.id {
            transmit(.heartbeat(from: node.id, to: peer.id), from: node.id, to: peer.id)
            let heard = node.lastHeard[peer.id] ?? Int64.min / 2
            if local - heard > Self.suspicionTimeout && !node.suspected.contains(peer.id) {
                node.suspected.insert(peer.id)
                // One suspicion, shared by every cell whose leader lives there.
                for cell in node.hostedCells {
                    let replica = node.hosted(cell)!.replica
                    replica.peerUnreachable(peer.id)
                    if replica.leader == peer.id {
                        replica.leaderSuspected(now: node.localNow(now))
                        drive(node, cell)
                    } else if replica.role == .leader {
                        drive(node, cell)  // a leader cut off from its quorum steps down when its lease ends
                    }
                }
            }
        }
        push(.heartbeatRound(node: node.id, incarnation: incarnation), after: Self.heartbeatInterval)
    }
}
