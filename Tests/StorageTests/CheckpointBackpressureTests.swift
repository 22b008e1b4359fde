import Foundation
import Keyspace
import Storage
import Testing

/// A writer that hands over far more than checkpoints keep up with (a
/// snapshot being installed) waits for them: what waits in memory for a
/// checkpoint stays bounded, on the store's own threads and on its caller's.
struct CheckpointBackpressureTests {
    static func update(_ index: Int) -> ItemUpdate {
        // Many collections, each written once: every change waits in memory for a checkpoint.
        ItemUpdate(collection: Array("acme/load/rnd/c\(index)".utf8), sortKey: [], value: [UInt8](repeating: UInt8(index % 251), count: 2_000),
                   version: UInt64(index + 1))
    }

    static func options() -> StorageOptions {
        var options = StorageOptions()
        options.checkpointWALBytes = 64 << 10
        options.walZeroFillBytes = 16 << 10
        return options
    }

    @Test(arguments: [Store.Committing.ownThreads, .caller])
    func lazyWritesThatWaitForCheckpointsKeepTheWALLagBounded(committing: Store.Committing) throws {
        let path = StoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store(directory: try POSIXDirectory(path: path), path: path, options: Self.options(), committing: committing)
        let groups = 300
        var largestLag = 0
        for group in 0..<groups {
            let updates = (0..<4).map { Self.update(group * 4 + $0) }
            store.commitGroup(updates: updates, logChanges: [], lazy: true) { _ in }
            try store.waitForDisk(checkpoints: true)
            largestLag = max(largestLag, store.statistics.walBytesSinceCheckpoint)
        }
        // The bound holds after each wait by construction; what can fail is that the writer waited at all:
        // 300 groups of 8 KB, and without the waits nothing lazy is even written, let alone checkpointed.
        #expect(largestLag <= store.checkpointLagBytesMaximum, "the WAL ran \(largestLag) bytes past a checkpoint")
        #expect(store.statistics.checkpointGeneration >= 10, "only \(store.statistics.checkpointGeneration) checkpoints")
        try store.close()

        let reopened = try Store(path: path)
        defer { try? reopened.close() }
        for index in [0, 599, groups * 4 - 1] {
            let item = try reopened.readNow { try $0.item(pointer: Pointer(hashing: Self.update(index).collection), sortKey: []) }
            #expect(item?.value == Self.update(index).value)
        }
    }

    /// Lazy records nobody syncs are written once too many wait, checkpoints or not.
    @Test(arguments: [Store.Committing.ownThreads, .caller])
    func lazyRecordsThatWaitForTheDiskAreWrittenPastTheirBound(committing: Store.Committing) throws {
        let path = StoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = Self.options()
        options.checkpointWALBytes = 1 << 30
        let store = try Store(directory: try POSIXDirectory(path: path), path: path, options: options, committing: committing)
        defer { try? store.close() }
        let value = [UInt8](repeating: 9, count: 100_000)
        for index in 0..<400 {
            let update = ItemUpdate(collection: Array("acme/load/rnd/big".utf8), sortKey: Array("\(index)".utf8), value: value,
                                    version: UInt64(index + 1))
            store.commitGroup(updates: [update], logChanges: [], lazy: true) { _ in }
            try store.waitForDisk(checkpoints: false)
        }
        let written = store.statistics.walBytesSinceCheckpoint
        #expect(written >= 400 * 100_000 - Store.pendingWALBytesMaximum, "only \(written) bytes of 40 MB were written")
        #expect(store.statistics.checkpointGeneration <= 1)
    }

    @Test func waitingOnAFailedStoreThrows() throws {
        let disk = SimulatedDisk()
        let store = try Store(directory: disk, path: "failing", options: Self.options())
        disk.crashAtOperation = disk.operationCount + 1
        for group in 0..<100 {
            store.commitGroup(updates: (0..<4).map { Self.update(group * 4 + $0) }, logChanges: [], lazy: true) { _ in }
        }
        #expect(throws: StorageError.self) { try store.waitForDisk(checkpoints: true) }
    }
}
