import Dispatch
import Keyspace
import LoadGeneration
import Storage

// The in-process systems of `tessera-bench peers`: Tessera's storage engine and
// SQLite, driven by the same load loop as the servers.

/// Tessera's engine in this process: every session shares one `Store`, whose
/// group commit makes concurrent puts share fsyncs.
final class TesseraEmbeddedSystem: LoadSystem {
    let name = "tessera-embedded"
    let interface = "in-process Swift API (Store.put / Store.get), no network"
    let store: Store
    private let keyList: [Key]

    init(path: String, keys: Int) throws {
        store = try Store(path: path)
        keyList = try (0..<keys).map { try Key(parsing: "bench/bench-peers/rnd/" + loadKeyName($0)) }
    }

    func makeSession(index: Int, of count: Int) async throws -> any LoadSession {
        Session(store: store, keys: keyList)
    }

    func close() throws { try store.close() }

    struct Session: LoadSession {
        let store: Store
        let keys: [Key]

        func put(key: Int, value: [UInt8]) async throws {
            let outcome = try await store.put(keys[key], value: value)
            guard case .applied = outcome else { throw LoadFailure("Tessera put of \(keys[key]) was not applied: \(outcome)") }
        }

        /// One store, one copy: every read sees every acknowledged write.
        func get(key: Int, consistency: LoadGeneration.ReadConsistency) async throws -> Bool {
            try await store.get(keys[key]) != nil
        }

        func close() async {}
    }
}

/// SQLite in this process, WAL mode with synchronous=FULL: each session has
/// its own connection and a serial queue to make its blocking calls on, so
/// that sixty-four blocked writers do not starve Swift's cooperative threads.
final class SQLiteSystem: LoadSystem {
    let name = "sqlite"
    let interface = "in-process C API (one connection per client, one transaction per put), no network"
    let path: String

    /// Creates the database and its table (WAL mode, checked).
    init(path: String) throws {
        self.path = path
        _ = try SQLiteConnection.createDatabase(path: path)
    }

    func makeSession(index: Int, of count: Int) async throws -> any LoadSession {
        let queue = DispatchQueue(label: "sqlite-session-\(index)")
        let path = path
        let connection = try await Self.onQueue(queue) { UncheckedBox(try SQLiteConnection(path: path)) }
        return Session(connection: connection, queue: queue)
    }

    /// Runs a blocking call on `queue` and resumes the caller when it is done.
    static func onQueue<T: Sendable>(_ queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    struct Session: LoadSession {
        /// Touched only on `queue`, one call at a time.
        let connection: UncheckedBox<SQLiteConnection>
        let queue: DispatchQueue

        func put(key: Int, value: [UInt8]) async throws {
            try await SQLiteSystem.onQueue(queue) { try connection.value.put(key: loadKeyName(key), value: value) }
        }

        /// One database file: every read sees every committed write.
        func get(key: Int, consistency: LoadGeneration.ReadConsistency) async throws -> Bool {
            try await SQLiteSystem.onQueue(queue) { try connection.value.get(key: loadKeyName(key)) != nil }
        }

        func close() async {
            // The connection closes when its last reference goes, on the queue that used it.
            let box = connection
            queue.async { _ = box }
        }
    }
}

/// Carries a non-Sendable value between threads where a serial queue guarantees one user at a time.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
