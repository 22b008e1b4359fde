import Cell
import Keyspace
import Storage
import Testing

@testable import Server

/// The order in which a cell's state reaches the store decides what a crash
/// between two store batches can leave behind.
@Suite struct PersistenceOrderTests {
    static func entry(_ index: LogIndex, ballot: UInt64) -> LogEntry {
        LogEntry(index: index, ballot: Ballot(ballot), payload: .command([UInt8(index)]))
    }

    static func describe(_ write: Write) -> String {
        let sortKey = write.key.sortKey
        let name: String
        switch sortKey.first {
        case 1: name = "hard"
        case 2: name = "entry \(sortKey.dropFirst().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })"
        case 3: name = "header"
        default: name = "chunk"
        }
        if case .delete = write.change { return "delete " + name }
        return name
    }

    @Test func aReadyDropsStaleEntriesThenWritesNewOnesThenItsHardState() {
        var disk = CellDiskState(cell: 7)
        var first = Ready()
        first.entries = (1...5).map { Self.entry($0, ballot: 1) }
        first.hardState = HardState(ballot: Ballot(1), votedFor: nil, commitIndex: 2)
        #expect(disk.writes(for: first).map(Self.describe) == ["entry 1", "entry 2", "entry 3", "entry 4", "entry 5", "hard"])

        // A new leader replaces entries 3...5 with a shorter suffix.
        var second = Ready()
        second.entries = [Self.entry(3, ballot: 2)]
        second.hardState = HardState(ballot: Ballot(2), votedFor: nil, commitIndex: 3)
        #expect(disk.writes(for: second).map(Self.describe) == ["delete entry 4", "delete entry 5", "entry 3", "hard"])
        #expect(disk.firstEntry == 1 && disk.lastEntry == 3)
    }

    @Test func aSnapshotIsWholeBeforeTheEntriesItCoversAreDropped() {
        var disk = CellDiskState(cell: 7)
        var ready = Ready()
        ready.entries = (1...4).map { Self.entry($0, ballot: 1) }
        _ = disk.writes(for: ready)
        let snapshot = Snapshot(index: 3, ballot: Ballot(1), configuration: [NodeID(0)], state: [1, 2, 3])
        #expect(disk.writes(for: snapshot).map(Self.describe) == ["chunk", "header", "delete entry 1", "delete entry 2", "delete entry 3"])
        #expect(disk.firstEntry == 4 && disk.snapshotSlot == 0)
        // The next snapshot goes to the other slot, so the previous one stays whole until its header is replaced.
        _ = disk.writes(for: Snapshot(index: 4, ballot: Ballot(1), configuration: [NodeID(0)], state: []))
        #expect(disk.snapshotSlot == 1)
    }

    @Test func batchesKeepOrderHoldAHundredItemsAndMergeRepeatsInsideOne() throws {
        let keys = try (0..<150).map { try Key(parsing: "acct/res/rnd/k/\($0)") }
        var writes = keys.map { Write.put($0, [0]) }
        writes.append(.put(keys[120], [1]))  // a repeat inside the second batch
        writes.append(.put(keys[5], [2]))  // a repeat of an item of the first batch: goes later
        let batches = Shard.batches(writes)
        #expect(batches.map(\.count) == [100, 51])
        #expect(batches[0].map(\.key) == Array(keys[0..<100]))
        #expect(batches[1].first { $0.key == keys[120] }?.change == .put([1]))
        #expect(batches[1].last?.key == keys[5] && batches[1].last?.change == .put([2]))
        #expect(batches[0][5].change == .put([0]))
    }
}
