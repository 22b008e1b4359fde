import Foundation
import Keyspace
import Storage
import Testing

/// The thread-safe store on real files: group commit, reopen, locking.
struct StoreTests {
    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-store-\(UUID().uuidString)").path
        return path
    }

    @Test func concurrentWritersAreAllDurableAcrossReopen() async throws {
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    for index in 0..<20 {
                        let key = try Key(parsing: "acme/store/rnd/w\(writer)/\(index)")
                        let outcome = try await store.put(key, value: Array("v\(writer)-\(index)".utf8))
                        guard case .applied = outcome else { throw StorageError.invalidBatch("put was not applied") }
                    }
                }
            }
            try await group.waitForAll()
        }
        try store.close()
        await #expect(throws: StorageError.self) { try await store.put(try Key(parsing: "acme/store/rnd/late"), value: [1]) }

        let reopened = try Store(path: path)
        for writer in 0..<32 {
            let page = try await reopened.query(try Key(parsing: "acme/store/rnd/w\(writer)"), QueryRange(limit: 100))
            #expect(page.items.count == 20)
            #expect(page.items.allSatisfy { String(decoding: $0.value, as: UTF8.self).hasPrefix("v\(writer)-") })
        }
        try reopened.close()
    }

    /// Checkpoints run on their own thread while writers, readers and a log
    /// keep going: every last write and every log entry survives a reopen.
    @Test func checkpointsBesideWritersLoseNothingWrittenMeanwhile() async throws {
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = StorageOptions()
        options.checkpointWALBytes = 48 * 1024
        options.walZeroFillBytes = 16 * 1024
        let store = try Store(path: path, options: options)
        let rounds = 80
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<12 {
                group.addTask {
                    for round in 0..<rounds {
                        // Few keys per writer, rewritten often: collections change while their slice is written.
                        let key = try Key(parsing: "acme/store/rnd/c\(writer)/\(round % 3)")
                        let value = Array("w\(writer)-r\(round)-".utf8) + [UInt8](repeating: UInt8(round), count: 700)
                        _ = try await store.put(key, value: value)
                        let read = try await store.get(key)
                        guard read?.value == value else { throw StorageError.invalidBatch("read \(key.text) did not see its write") }
                    }
                }
            }
            group.addTask {
                for round in 0..<UInt64(rounds) {
                    let change = LogChange(log: 9, truncation: round % 10 == 9 ? .compact(through: round - 4) : .none,
                                           entries: [StoredLogEntry(index: round + 1, header: [1], body: [UInt8](repeating: 2, count: 500))])
                    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                        store.commitGroup(updates: [], logChanges: [change]) { continuation.resume(with: $0) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let generations = store.statistics.checkpointGeneration
        #expect(generations >= 5, "only \(generations) checkpoints ran")
        try store.close()

        let reopened = try Store(path: path, options: options)
        defer { try? reopened.close() }
        for writer in 0..<12 {
            for slot in 0..<3 {
                let last = (0..<rounds).last { $0 % 3 == slot }!
                let item = try await reopened.get(try Key(parsing: "acme/store/rnd/c\(writer)/\(slot)"))
                #expect(item?.value.starts(with: Array("w\(writer)-r\(last)-".utf8)) == true, "writer \(writer) slot \(slot)")
            }
        }
        let log = try #require(reopened.logs[9])
        #expect(log.base == UInt64(rounds) - 5 && log.entries.map(\.index) == Array((UInt64(rounds) - 4)...UInt64(rounds)))
    }

    @Test func compareAndSwapUnderContentionLosesNoIncrement() async throws {
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store(path: path)
        let counter = try Key(parsing: "acme/store/rnd/counter")
        _ = try await store.put(counter, value: Array("0".utf8))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var done = 0
                    while done < 10 {
                        let current = try await store.get(counter)!
                        let next = Int(String(decoding: current.value, as: UTF8.self))! + 1
                        if case .applied = try await store.put(counter, value: Array(String(next).utf8), condition: .versionEquals(current.version)) {
                            done += 1
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.get(counter).map { String(decoding: $0.value, as: UTF8.self) } == "80")
        try store.close()
    }

    @Test func aDataDirectoryOpensInOneStoreAtATime() throws {
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store(path: path)
        #expect(throws: StorageError.locked(path: path)) { _ = try Store(path: path) }
        try store.close()
    }
}
