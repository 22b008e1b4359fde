import Cell

extension Simulation {
    /// Loses power: the running fsync's batch is torn (a random prefix of it
    /// reaches the disk, the rest is lost), queued writes are lost, memory is gone.
    func crash(_ node: SimulatedNode) {
        if faultsActive && options.faults.contains(.crash) {
            push(.crash(node: randomNode()), after: random.nanoseconds(1_000_000_000...4_000_000_000))
        }
        guard node.isUp, faultsActive else { return }
        report.crashes += 1
        let kept = random.int(0...node.syncing.count)
        for (position, item) in node.syncing.enumerated() {
            if position < kept {
                node.durable[item.cell]!.persist(item.ready)
            } else if position == kept, item.ready.snapshot == nil, !item.ready.entries.isEmpty {
                // The torn write: some of its entries made it, its other state did not.
                node.durable[item.cell]!.append(Array(item.ready.entries.prefix(random.int(0...item.ready.entries.count))))
            }
        }
        node.syncing = []
        node.diskQueue = []
        node.isUp = false
        node.incarnation += 1
        node.hosted = [:]
        node.lastHeard = [:]
        node.suspected = []
        node.pausedUntil = nil
        push(.restart(node: node.id), after: random.nanoseconds(100_000_000...1_500_000_000))
    }

    func restart(_ node: SimulatedNode) {
        guard !node.isUp else { return }
        node.isUp = true
        let local = node.localNow(now)
        for cell in node.durable.keys.sorted() {
            let persisted = node.durable[cell]!
            let replica = CellReplica(
                me: node.id, configuration: cellReplicas[cell], options: options.cellOptions, now: local,
                randomSeed: random.next(), restoring: persisted)
            let hosted = HostedReplica(cell: cell, replica: replica)
            if let snapshot = persisted.snapshot {
                do {
                    try hosted.stateMachine.restore(snapshot)
                } catch {
                    violation("cell \(cell) on \(node.id): persisted snapshot does not decode: \(error.reason)")
                }
            }
            node.hosted[cell] = hosted
            drive(node, cell)
        }
        push(.heartbeatRound(node: node.id, incarnation: node.incarnation), after: 0)
    }

    /// Stops a node for 0.2–1.5 s; it then runs what queued up, in order.
    func pause(_ node: SimulatedNode) {
        guard faultsActive else { return }
        push(.pause(node: randomNode()), after: random.nanoseconds(1_000_000_000...4_000_000_000))
        guard node.isUp, node.pausedUntil == nil else { return }
        report.pauses += 1
        node.pausedUntil = now + random.nanoseconds(200_000_000...1_500_000_000)
    }

    func partition() {
        guard faultsActive else { return }
        report.partitions += 1
        var side: [Bool] = nodes.map { _ in random.chance(0.5) }
        if !side.contains(true) { side[0] = true }
        if !side.contains(false) { side[side.count - 1] = false }
        for a in nodes.indices { for b in nodes.indices where side[a] != side[b] { blocked.insert([UInt32(a), UInt32(b)]) } }
        push(.heal, after: random.nanoseconds(300_000_000...2_500_000_000))
        push(.partition, after: random.nanoseconds(3_000_000_000...6_000_000_000))
    }

    /// The end of the fault phase: heal everything and let the cluster settle.
    func endFaults() {
        faultsActive = false
        blocked = []
        for node in nodes where !node.isUp { push(.restart(node: node.id), after: 0) }
        // Clients stop a while before the end, so that every replica can catch up.
        let quiet = max(options.livenessBound.nanosecondsValue - 2_000_000_000, options.livenessBound.nanosecondsValue / 2)
        push(.stopClients, after: quiet)
    }
}
