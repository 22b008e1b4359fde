import Cell
import CellHost
import Storage

extension Simulation {
    /// A planned crash: a random node loses power, and another crash is planned.
    func crash(_ node: SimulatedNode) {
        if faultsActive && options.faults.contains(.crash) {
            push(.crash(node: randomNode()), after: random.nanoseconds(1_000_000_000...4_000_000_000))
        }
        guard faultsActive else { return }
        powerLoss(node, loss: randomCrashLoss())
    }

    /// What a power loss leaves of the disk's unsynced writes.
    func randomCrashLoss() -> SimulatedDisk.CrashLoss {
        switch random.int(0..<4) {
        case 0: .loseAll
        case 1: .keepAll
        case 2: .tearLast(keepingBytes: random.int(0...4_096))
        default: .subset(mask: random.next())
        }
    }

    /// Loses power: memory is gone, and the disk keeps what was synced plus
    /// what `loss` says of the rest (a commit round written and not yet
    /// synced may be lost, torn, or partly there).
    func powerLoss(_ node: SimulatedNode, loss: SimulatedDisk.CrashLoss) {
        guard node.isUp else { return }
        report.crashes += 1
        node.disk.crash(loss)
        node.store = nil
        node.pipeline = nil
        node.commitRoundScheduled = false
        node.passEndScheduled = false
        node.isUp = false
        node.incarnation += 1
        node.lastHeard = [:]
        node.suspected = []
        node.pausedUntil = nil
        push(.restart(node: node.id), after: random.nanoseconds(100_000_000...1_500_000_000))
    }

    func restart(_ node: SimulatedNode) {
        guard !node.isUp else { return }
        node.isUp = true
        start(node)
        push(.heartbeatRound(node: node.id, incarnation: node.incarnation), after: 0)
    }

    /// Opens the node's store on its disk, recovering after a crash, and
    /// restores every cell it hosts from its log and page-store state, as a
    /// node does at start; cells that never persisted anything start empty.
    func start(_ node: SimulatedNode) {
        let store: Store
        let logs: [UInt64: StoredLog]
        do {
            store = try Store(directory: node.disk, path: "node \(node.id)", options: storeOptions, committing: .caller)
            logs = store.logs
        } catch {
            // The disk failed while the store opened: the node stops, as a real one does at start.
            if node.disk.hasCrashed { return powerLoss(node, loss: options.diskFailure?.loss ?? randomCrashLoss()) }
            return violation("\(node.id) cannot reopen its store after a crash: \(error)")
        }
        let limits = ReadyLoop<SimulatedNode>.Limits(compactionInterval: options.compactionInterval,
                                                     cellLogBytesMaximum: 1 << 20, loopLogBytesMaximum: 16 << 20,
                                                     followerHoldBytesMaximum: options.followerHoldBytes)
        let pipeline = ReadyLoop(host: node, store: store, limits: limits)
        node.store = store
        node.pipeline = pipeline
        let local = node.localNow(now)
        for cell in 0..<options.cells where cellReplicas[cell].contains(node.id) {
            let members = cellReplicas[cell]
            var state = PageCellState(cell: UInt64(cell), cellDepth: cellDepth, store: store, configuration: members)
            var persisted: PersistedReplicaState?
            if let log = logs[UInt64(cell)] {
                do {
                    try state.load()
                    if state.pendingInstall != nil { report.installsResumed += 1 }
                    persisted = try CellLog.restore(cell: UInt64(cell), log: log, state: &state, installFiles: node.installFilesKept)
                } catch {
                    // Finishing an interrupted install writes: the disk may fail under it, as at any write.
                    if node.disk.hasCrashed { return powerLoss(node, loss: options.diskFailure?.loss ?? randomCrashLoss()) }
                    return violation("cell \(cell) on \(node.id) does not recover: \(error)")
                }
            }
            let replica = if let persisted {
                CellReplica(me: node.id, configuration: members, options: options.cellOptions, now: local,
                            randomSeed: random.next(), restoring: persisted)
            } else {
                CellReplica(me: node.id, configuration: members, options: options.cellOptions, now: local,
                            randomSeed: random.next())
            }
            pipeline.cells[UInt64(cell)] = SimulatedCell(cell: UInt64(cell), replica: replica, stateMachine: state)
        }
        for cell in node.hostedCells { drive(node, cell) }
    }

    /// Small WAL steps and frequent checkpoints, so that seeds cross both; a small cache, so that reads go to pages.
    var storeOptions: StorageOptions {
        var storage = StorageOptions()
        storage.walZeroFillBytes = 16 << 10
        storage.checkpointWALBytes = options.checkpointWALBytes
        storage.cacheBytesMaximum = 256 << 10
        return storage
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
