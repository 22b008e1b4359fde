import Cell
import Foundation
import Keyspace
import Storage
import Testing

@testable import Server

/// A cell's readies reach the store as one log change each (with the
/// snapshot's items beside it), and come back at a restart as exactly what the
/// replica persisted: the rule ``PersistedReplicaState/persist(_:)`` states.
@Suite struct PersistenceOrderTests {
    static func entry(_ index: LogIndex, ballot: UInt64) -> LogEntry {
        LogEntry(index: index, ballot: Ballot(ballot), payload: .command([UInt8(index), 7]))
    }

    static func withStore(_ body: (String) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-persist-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await body(path)
    }

    static func commit(_ group: DiskGroup, to store: Store) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            store.commitGroup(writes: group.writes, logChanges: group.logChanges) { continuation.resume(with: $0) }
        }
    }

    @Test func aReadyIsOneLogChangeAndAConflictingSuffixReplacesTheTail() {
        var disk = CellDiskState(cell: 7)
        var first = Ready()
        first.entries = (1...5).map { Self.entry($0, ballot: 1) }
        first.hardState = HardState(ballot: Ballot(1), votedFor: nil, commitIndex: 2)
        let group = disk.group(for: first)
        #expect(group.writes.isEmpty)
        #expect(group.logChanges.map(\.log) == [7])
        #expect(group.logChanges[0].entries.map(\.index) == [1, 2, 3, 4, 5])
        #expect(group.logChanges[0].truncation == .none && group.logChanges[0].state != nil)

        var snapshotReady = Ready()
        snapshotReady.snapshot = Snapshot(index: 9, ballot: Ballot(2), configuration: [NodeID(0)], state: [1])
        snapshotReady.snapshotReplacesLog = true
        let installed = disk.group(for: snapshotReady)
        #expect(installed.logChanges[0].truncation == .reset(after: 9))
        #expect(installed.writes.count == 2)  // one chunk and the header
    }

    @Test func whatAReadySequencePersistsComesBackAfterARestart() async throws {
        try await Self.withStore { path in
            var expected = PersistedReplicaState(hardState: HardState(), snapshot: nil, entries: [])
            var readies: [Ready] = []
            var ready = Ready()
            ready.entries = (1...5).map { Self.entry($0, ballot: 1) }
            ready.hardState = HardState(ballot: Ballot(1), votedFor: NodeID(2), commitIndex: 2)
            readies.append(ready)
            ready = Ready()
            ready.entries = [Self.entry(3, ballot: 2)]  // a new leader replaces 3...5
            ready.hardState = HardState(ballot: Ballot(2), votedFor: nil, commitIndex: 3)
            readies.append(ready)
            ready = Ready()
            ready.snapshot = Snapshot(index: 2, ballot: Ballot(1), configuration: [NodeID(0), NodeID(1)],
                                      state: [UInt8](repeating: 5, count: CellRecords.snapshotChunkBytes + 10))
            ready.entries = [Self.entry(4, ballot: 2)]
            readies.append(ready)

            var disk = CellDiskState(cell: 7)
            let store = try Store(path: path)
            for ready in readies {
                try await Self.commit(disk.group(for: ready), to: store)
                expected.persist(ready)
            }
            try store.close()

            let reopened = try Store(path: path)
            defer { try? reopened.close() }
            let log = try #require(reopened.logs[7])
            let (restored, restoredDisk) = try await CellDiskState.restore(cell: 7, log: log, from: reopened)
            #expect(restored.hardState == expected.hardState)
            #expect(restored.entries == expected.entries)
            #expect(restored.entries.map(\.index) == [3, 4])
            #expect(restored.snapshot == expected.snapshot)
            #expect(restoredDisk.snapshotIndex == 2)
        }
    }

    @Test func anEntryChangedOnDiskIsRefusedByItsChecksum() throws {
        var stored = CellRecords.stored(Self.entry(4, ballot: 3))
        #expect(try CellRecords.decodeEntry(stored) == Self.entry(4, ballot: 3))
        stored.body[0] ^= 1
        #expect(throws: (any Error).self) { try CellRecords.decodeEntry(stored) }
    }
}
