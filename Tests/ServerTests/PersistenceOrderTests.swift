import Cell
import Foundation
import Keyspace
import Storage
import Testing

@testable import CellHost
@testable import Server

/// A cell's log and state in the node's store: readies become log changes of
/// the WAL, applied entries become page-store items, and both come back at a
/// restart as exactly what the replica and the in-memory state machine hold.
@Suite struct PersistenceOrderTests {
    static func entry(_ index: LogIndex, ballot: UInt64) -> LogEntry {
        LogEntry(index: index, ballot: Ballot(ballot), payload: .command([UInt8(index), 7]))
    }

    static func withStores(_ count: Int = 1, _ body: ([String]) async throws -> Void) async throws {
        let paths = (0..<count).map { _ in
            FileManager.default.temporaryDirectory.appendingPathComponent("tessera-persist-\(UUID().uuidString.prefix(8))").path
        }
        defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
        try await body(paths)
    }

    static func commit(_ updates: [ItemUpdate], _ changes: [LogChange], to store: Store) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            store.commitGroup(updates: updates, logChanges: changes) { continuation.resume(with: $0) }
        }
    }

    /// Commands of several clients over a few collections, with conditions, deletes and retries.
    static func commands(count: Int, collections: UInt64 = 4, first: Int = 1) -> [LogEntry] {
        var random = SplitMix64(seed: 7 &+ UInt64(first))
        return (first..<first + count).map { index in
            let client = random.next() % 5
            let key = ItemKey(collection: Array("acme/users/rnd/u\(random.next() % collections)".utf8), sortKey: Array("s\(random.next() % 3)".utf8))
            let write: ItemWrite
            switch random.next() % 4 {
            case 0: write = ItemWrite(key: key, value: nil)
            case 1: write = ItemWrite(key: key, value: Array("v\(index)".utf8), condition: .absent)
            default: write = ItemWrite(key: key, value: [UInt8](repeating: UInt8(index & 0xff), count: Int(random.next() % 900)))
            }
            // Every fifth command retries the sequence before it: answered from the session.
            let sequence = UInt64(index / 5 * 5 == index ? index - 1 : index)
            let command = CellCommand(clientID: client, sequence: sequence, acknowledgedBelow: sequence / 2, writes: [write])
            return LogEntry(index: LogIndex(index), ballot: Ballot(1), payload: .command(command.encoded()))
        }
    }

    @Test func aReadyIsOneLogChange() {
        var ready = Ready()
        ready.entries = (1...5).map { Self.entry($0, ballot: 1) }
        ready.hardState = HardState(ballot: Ballot(1), votedFor: nil, commitIndex: 2)
        let change = CellLog.change(for: ready, of: 7)
        #expect(change.log == 7 && change.entries.map(\.index) == [1, 2, 3, 4, 5])
        #expect(change.truncation == .none && change.state != nil)
        ready = Ready()
        ready.snapshot = Snapshot(index: 9, ballot: Ballot(2), configuration: [NodeID(0)], state: [])
        ready.snapshotReplacesLog = true
        #expect(CellLog.change(for: ready, of: 7).truncation == .reset(after: 9))
    }

    /// The page store applies entries exactly as the in-memory state machine
    /// does, gives the same snapshot bytes, and comes back after a restart.
    @Test func thePageStoreAgreesWithTheInMemoryStateMachineAcrossARestart() async throws {
        try await Self.withStores(2) { paths in
            let entries = Self.commands(count: 120)
            var memory = CellStateMachine()
            let store = try Store(path: paths[0])
            var state = PageCellState(cell: 0, cellDepth: 0, store: store, configuration: [NodeID(0)])
            for batch in stride(from: 0, to: entries.count, by: 7).map({ entries[$0..<min($0 + 7, entries.count)] }) {
                for entry in batch {
                    let expected = memory.apply(entry)
                    let got = try state.apply(entry)
                    #expect(got?.result == expected?.result, "entry \(entry.index)")
                }
                state.appliedBallot = batch.last!.ballot
                try await Self.commit(state.takeUpdates(), [LogChange(log: 0, entries: batch.map(CellRecords.stored))], to: store)
                try await Self.commit([], [LogChange(log: 0, truncation: .compact(through: batch.last!.index))], to: store)
            }
            #expect(try state.encodedSnapshot() == memory.encoded())
            #expect(state.sessionCount == memory.sessionCount)
            try store.close()

            let reopened = try Store(path: paths[0])
            var restored = PageCellState(cell: 0, cellDepth: 0, store: reopened, configuration: [NodeID(0)])
            let persisted = try CellLog.restore(cell: 0, log: try #require(reopened.logs[0]), state: &restored, installFiles: nil)
            #expect(persisted.base == LogBase(index: 120, ballot: Ballot(1), configuration: [NodeID(0)]))
            #expect(persisted.entries.isEmpty)
            #expect(restored.appliedIndex == 120 && restored.sessionCount == memory.sessionCount)
            #expect(try restored.encodedSnapshot() == memory.encoded())
            let key = ItemKey(collection: Array("acme/users/rnd/u1".utf8), sortKey: Array("s0".utf8))
            #expect(try restored.read(key) == memory.read(key))

            // A snapshot installed on another node's store replaces whatever that cell held.
            let other = try Store(path: paths[1])
            defer { try? other.close() }
            var follower = PageCellState(cell: 0, cellDepth: 0, store: other, configuration: [NodeID(0)])
            _ = try follower.apply(entries[0])
            try await Self.commit(follower.takeUpdates(), [], to: other)
            let snapshot = Snapshot(index: 120, ballot: Ballot(1), configuration: [NodeID(0)], state: memory.encoded())
            try await follower.installAsFollower(snapshot, groupBytes: 256)
            #expect(try follower.encodedSnapshot() == memory.encoded())
            #expect(follower.appliedIndex == 120)
            try reopened.close()
        }
    }

    @Test func anEntryChangedOnDiskIsRefusedByItsChecksum() throws {
        var stored = CellRecords.stored(Self.entry(4, ballot: 3))
        #expect(try CellRecords.decodeEntry(stored) == Self.entry(4, ballot: 3))
        stored.body[0] ^= 1
        #expect(throws: (any Error).self) { try CellRecords.decodeEntry(stored) }
    }
}

/// A snapshot is written from the store on another thread while the cell
/// applies entries: pre-images keep it the state at its index.
@Suite struct SnapshotBuildTests {
    /// Applies more entries every time the writer appends: the store changes under it at every step.
    struct InterleavingSink: SnapshotSink {
        var bytes: [UInt8] = []
        var onAppend: () throws -> Void
        mutating func append(_ more: [UInt8]) throws {
            bytes += more
            try onAppend()
        }
        var bytesWritten: Int { bytes.count }
        mutating func patch(at offset: Int, _ replacement: [UInt8]) {
            bytes.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
        }
    }

    @Test(arguments: [1, 3, 9]) func aSnapshotWrittenWhileTheCellAppliesIsTheStateAtItsIndex(entriesPerStep: Int) async throws {
        try await PersistenceOrderTests.withStores(1) { paths in
            let store = try Store(path: paths[0])
            defer { try? store.close() }
            var state = PageCellState(cell: 0, cellDepth: 0, store: store, configuration: [NodeID(0)])
            var memory = CellStateMachine()
            let before = PersistenceOrderTests.commands(count: 150, collections: 30)
            for entry in before {
                _ = memory.apply(entry)
                _ = try state.apply(entry)
            }
            state.appliedBallot = Ballot(1)
            try await PersistenceOrderTests.commit(state.takeUpdates(), [], to: store)
            let expected = memory.encoded()

            let build = SnapshotBuild(cell: 0, index: 150)
            var after = PersistenceOrderTests.commands(count: 400, collections: 30, first: 151)[...]
            var sink = InterleavingSink {
                for entry in after.prefix(entriesPerStep) { _ = try state.apply(entry) }
                after = after.dropFirst(entriesPerStep)
                let updates = state.takeUpdates()
                try state.recordPreimages(of: updates, into: build)
                store.commitGroup(updates: updates, logChanges: [], lazy: true) { _ in }
            }
            try state.snapshotSource.write(build, to: &sink)
            #expect(after.count < 400, "no entry was applied while the snapshot was written")
            #expect(sink.bytes == expected)
            // And the store did move on: the state now differs.
            #expect(try state.encodedSnapshot() != expected)
        }
    }
}

/// A queue's gathered entries travel in snapshots as staged ones, read from
/// the node's extents one step at a time: the same entries as the in-memory
/// state machine's (which never gathers), but those trimmed, and with the
/// version of their extent's index item.
@Suite struct QueueSnapshotTests {
    static let queue = Array("acme/jobs/lnr/orders".utf8)

    static func append(_ payload: [UInt8], index: UInt64) -> LogEntry {
        let command = CellCommand(clientID: 9, sequence: index, acknowledgedBelow: index,
                                  body: .queue(queue: queue, operation: .append(payload: payload, leader: nil), nowMilliseconds: index))
        return LogEntry(index: index, ballot: Ballot(1), payload: .command(command.encoded()))
    }

    @Test(arguments: [0, 3, 17]) func aGatheredQueueSnapshotsAsTheStateMachineDoes(trimThrough: UInt64) async throws {
        try await PersistenceOrderTests.withStores(1) { paths in
            let store = try Store(path: paths[0])
            defer { try? store.close() }
            var state = PageCellState(cell: 0, cellDepth: 0, store: store, configuration: [NodeID(0)])
            var memory = CellStateMachine()
            var random = SplitMix64(seed: 5)
            var entries: [LogEntry] = []
            // 40 appends, some over one 256 KiB chunk, then a trim.
            for index in 1...40 {
                let bytes = index % 9 == 0 ? 300_000 : Int(random.next() % 2_000)
                entries.append(Self.append((0..<bytes).map { _ in UInt8(truncatingIfNeeded: random.next()) }, index: UInt64(index)))
            }
            if trimThrough > 0 {
                let trim = CellCommand(clientID: 9, sequence: 41, acknowledgedBelow: 41,
                                       body: .queue(queue: Self.queue, operation: .trim(through: trimThrough), nowMilliseconds: 41))
                entries.append(LogEntry(index: 41, ballot: Ballot(1), payload: .command(trim.encoded())))
            }
            for entry in entries {
                _ = memory.apply(entry)
                _ = try state.apply(entry)
            }
            state.appliedBallot = Ballot(1)
            try await PersistenceOrderTests.commit(state.takeUpdates(), [], to: store)
            let expected = memory.encoded()

            // Gather entries 1…30 into three "extents" (10 each), as the node's gatherer swaps them.
            var extents: [UInt64: [QueueEntry]] = [:]
            let items = state.queueItems
            let version = try #require(try items.item(Self.queue, QueueLayout.headSortKey)).version
            for (id, first) in [(UInt64(7), UInt64(1)), (8, 11), (9, 21)] {
                let gathered = try items.stagedEntries(Self.queue, from: first, through: first + 9, countMaximum: 100, bytesMaximum: 1 << 30)
                #expect(gathered.map(\.sequence) == Array(first...(first + 9)))
                extents[id] = gathered
                var updates = gathered.flatMap { entry in
                    (0..<QueueLayout.chunkCount(payloadBytes: entry.payload.count)).map { chunk in
                        ItemUpdate(collection: Self.queue, sortKey: QueueLayout.stagedSortKey(sequence: entry.sequence, chunk: chunk),
                                   value: nil, version: version)
                    }
                }
                let index = ExtentIndexEntry(extentID: id, firstSequence: first, lastSequence: first + 9)
                updates.append(ItemUpdate(collection: Self.queue, sortKey: QueueLayout.extentSortKey(firstSequence: first),
                                          value: index.encodedValue(), version: version))
                try await PersistenceOrderTests.commit(updates, [], to: store)
            }
            // Without the node's extents, the gathered entries cannot be sent.
            #expect(throws: QueueReadError.self) { _ = try state.encodedSnapshot() }

            // Reads of at most 4 entries at a time: several steps per extent.
            func source(_ extents: [UInt64: [QueueEntry]]) -> CellSnapshotSource {
                var source = state.snapshotSource
                source.queueExtents = { extent, from, count, _ in
                    Array((extents[extent.extentID] ?? []).filter { $0.sequence >= from }.prefix(min(count, 4)))
                }
                return source
            }
            var sink = MemorySnapshotSink()
            try source(extents).write(SnapshotBuild(cell: 0, index: state.appliedIndex), to: &sink)
            let written = try CellSnapshotFormat.decode(sink.bytes)
            let reference = try CellSnapshotFormat.decode(expected)
            #expect(written.collections.map(\.name) == [Self.queue] && reference.collections.map(\.name) == [Self.queue])
            #expect(written.sessions.map(\.client) == reference.sessions.map(\.client))
            // Staged entries through the trim point are unreadable: a snapshot leaves them out.
            func readable(_ items: [Item]) -> [Item] {
                items.filter { item in QueueLayout.staged(item.sortKey).map { $0.sequence > trimThrough } ?? true }
            }
            let sent = readable(written.collections[0].items)
            let kept = readable(reference.collections[0].items)
            #expect(sent.map(\.sortKey) == kept.map(\.sortKey))
            #expect(sent.map(\.value) == kept.map(\.value), "an entry's payload changed on its way through an extent")
            let unstaged = { (items: [Item]) in items.filter { QueueLayout.staged($0.sortKey) == nil } }
            #expect(unstaged(sent) == unstaged(kept), "the head and positions travel as they are")
            #expect(sent.filter { QueueLayout.staged($0.sortKey)?.sequence ?? 99 <= 30 }.allSatisfy { $0.version == version })

            // An extent that lost entries fails the snapshot rather than send a gap.
            extents[9]?.removeFirst()
            var broken = MemorySnapshotSink()
            #expect(throws: QueueReadError.self) { try source(extents).write(SnapshotBuild(cell: 0, index: state.appliedIndex), to: &broken) }
        }
    }
}
