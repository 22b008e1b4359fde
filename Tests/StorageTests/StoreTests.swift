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
