import Cell
import Foundation
import Storage
import Testing

@testable import CellHost
@testable import Server

/// A cell's persistence on a node, crashed at every disk operation: a
/// snapshot installed from a leader (its marker with the log reset in one
/// record, then its items in small lazy groups, with checkpoints between
/// collections; an interrupted install is finished at recovery), then
/// batches of entries made durable (acknowledged) and applied into the page
/// store with the log truncated through them (a lazy record nobody waits
/// for), in the order a shard does it. After each crash, and whatever the
/// unsynced writes left, the node must recover a log and a state that agree,
/// hold every acknowledged entry, and give the in-memory state machine's
/// state once the recovered log is applied.
@Suite struct NodePersistenceCrashTests {
    static let cell: UInt64 = 0
    static let entries = PersistenceOrderTests.commands(count: 45, collections: 6)
    static let snapshotIndex: LogIndex = 15
    static let entriesPerBatch = 4

    /// Small WAL zero-fill steps: the in-memory disk copies every byte written.
    static var storeOptions: StorageOptions {
        var options = StorageOptions()
        options.walZeroFillBytes = 64 << 10
        // Checkpoints during the install too, so that it waits for them.
        options.checkpointWALBytes = 2 << 10
        return options
    }

    static func newState(_ store: Store) -> PageCellState {
        PageCellState(cell: cell, cellDepth: 0, store: store, configuration: [NodeID(0)])
    }

    static func model(through index: LogIndex) -> CellStateMachine {
        var machine = CellStateMachine()
        for entry in entries.prefix(Int(index)) { _ = machine.apply(entry) }
        return machine
    }

    static func commit(_ store: Store, updates: [ItemUpdate] = [], _ changes: [LogChange]) async -> Bool {
        (try? await PersistenceOrderTests.commit(updates, changes, to: store)) != nil
    }

    /// Runs the workload until the disk fails; returns the last index acknowledged to a client.
    static func workload(_ store: Store, files: MemoryInstallFiles) async -> LogIndex {
        var acknowledged: LogIndex = 0
        do {
            try await workload(store, files: files, acknowledged: &acknowledged)
        } catch {
            // A read failed on the crashed disk: the shard would stop here too.
        }
        return acknowledged
    }

    static func workload(_ store: Store, files: MemoryInstallFiles, acknowledged: inout LogIndex) async throws {
        var state = newState(store)
        let snapshot = Snapshot(index: snapshotIndex, ballot: Ballot(1), configuration: [NodeID(0)],
                                state: model(through: snapshotIndex).encoded())
        let marker = InstallMarker(index: snapshotIndex, ballot: Ballot(1), configuration: [NodeID(0)],
                                   reference: try files.retain(snapshot, cell: cell))
        guard await commit(store, updates: [state.installMarkerUpdate(marker)],
                           [LogChange(log: cell, truncation: .reset(after: snapshotIndex))]) else { return }
        // Noted with the log reset, the install is redone after a crash: the leader may count it.
        acknowledged = snapshotIndex
        try state.installStaged(marker, files: files, groupBytes: 64) { _ in }
        var rest = entries.dropFirst(Int(snapshotIndex))
        while !rest.isEmpty {
            let batch = Array(rest.prefix(entriesPerBatch))
            rest = rest.dropFirst(entriesPerBatch)
            // The entries and the commit index known so far: durable before anyone hears of them.
            let hardState = HardState(ballot: Ballot(1), votedFor: NodeID(0), commitIndex: acknowledged)
            let change = LogChange(log: cell, entries: batch.map(CellRecords.stored), state: CellRecords.encode(hardState))
            guard await commit(store, [change]) else { return }
            acknowledged = batch.last!.index
            for entry in batch { _ = try state.apply(entry) }
            state.appliedBallot = Ballot(1)
            store.commitGroup(updates: state.takeUpdates(), logChanges: [LogChange(log: cell, truncation: .compact(through: acknowledged))],
                              lazy: true) { _ in }
        }
        // A last blocking record, so that the final lazy one is synced in a crash-free run.
        _ = await commit(store, [LogChange(log: cell, state: CellRecords.encode(HardState(ballot: Ballot(1), votedFor: NodeID(0),
                                                                                             commitIndex: acknowledged)))])
    }

    /// Reopens the crashed disk and checks what came back; returns a failure or nil.
    static func recover(_ disk: SimulatedDisk, files: MemoryInstallFiles, acknowledged: LogIndex) throws -> String? {
        let store = try Store(directory: disk, path: "crashed", options: storeOptions)
        defer { try? store.close() }
        guard let log = store.logs[cell] else {
            return acknowledged == 0 ? nil : "no log came back, though entries through \(acknowledged) were acknowledged"
        }
        var state = newState(store)
        let persisted = try CellLog.restore(cell: cell, log: log, state: &state, installFiles: files)
        // The replica applies its whole log again once it leads (a one-replica cell commits all of it).
        for entry in persisted.entries where entry.index > state.appliedIndex {
            guard entry.index == state.appliedIndex + 1 else {
                return "the log jumps from \(state.appliedIndex) to \(entry.index)"
            }
            _ = try state.apply(entry)
        }
        if state.appliedIndex < acknowledged {
            return "state and log end at \(state.appliedIndex), though entries through \(acknowledged) were acknowledged"
        }
        if state.appliedIndex > 0 && state.appliedIndex < snapshotIndex {
            return "the state is at \(state.appliedIndex), inside the snapshot"
        }
        guard state.appliedIndex > 0 else { return nil }
        // The re-applied entries' writes go to the store; then the state must be the model's.
        try commitNow(state.takeUpdates(), to: store)
        if try state.encodedSnapshot() != model(through: state.appliedIndex).encoded() {
            return "the state at \(state.appliedIndex) differs from the in-memory state machine's"
        }
        return nil
    }

    static func commitNow(_ updates: [ItemUpdate], to store: Store) throws {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        store.commitGroup(updates: updates, logChanges: []) { result in
            if case .failure(let error) = result { failure = error }
            done.signal()
        }
        done.wait()
        if let failure { throw failure }
    }

    @Test func everyCrashPointOfTheNodePipelineRecoversEveryAcknowledgedEntry() async throws {
        let clean = SimulatedDisk()
        let cleanStore = try Store(directory: clean, path: "clean", options: Self.storeOptions)
        let cleanFiles = MemoryInstallFiles()
        let all = await Self.workload(cleanStore, files: cleanFiles)
        try cleanStore.close()
        #expect(all == LogIndex(Self.entries.count))
        #expect(cleanFiles.count == 0, "the installed snapshot was not released")
        let operations = clean.operationCount
        #expect(operations > 20, "the workload did \(operations) disk operations")

        let losses: [SimulatedDisk.CrashLoss] = [.loseAll, .keepAll, .tearLast(keepingBytes: 11), .subset(mask: 0x5555_5555_5555_5555)]
        var failures: [String] = []
        var schedules = 0
        for crashAt in 1...operations + 1 {
            for loss in losses {
                let disk = SimulatedDisk()
                disk.crashAtOperation = crashAt
                var acknowledged: LogIndex = 0
                let files = MemoryInstallFiles()
                if let store = try? Store(directory: disk, path: "crashing", options: Self.storeOptions) {
                    acknowledged = await Self.workload(store, files: files)
                    try? store.close()
                }
                disk.crash(loss)
                schedules += 1
                do {
                    if let failure = try Self.recover(disk, files: files, acknowledged: acknowledged) {
                        failures.append("crash at operation \(crashAt), \(loss): \(failure)")
                    }
                } catch {
                    failures.append("crash at operation \(crashAt), \(loss): recovery failed: \(error)")
                }
            }
        }
        print("node persistence: \(operations + 1) crash points × \(losses.count) loss patterns = \(schedules) schedules explored")
        #expect(failures.count == 0, "\(failures.count) schedules failed; first: \(failures.prefix(3))")
    }
}
