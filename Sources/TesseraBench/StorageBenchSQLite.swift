import CSQLite
import Foundation
import LoadGeneration

// The SQLite side of `tessera-bench storage`: the same keys and values in one
// table (k TEXT PRIMARY KEY, v BLOB) of a WAL-mode database with
// synchronous=FULL, one transaction per put. SQLite's calls block, so each
// writer or reader is a thread with its own connection.

/// One SQLite connection with its prepared statements; used by one thread.
final class SQLiteConnection {
    private var database: OpaquePointer?
    private var upsert: OpaquePointer?
    private var select: OpaquePointer?
    private var range: OpaquePointer?
    /// Steps that returned SQLITE_BUSY even after the busy timeout, and were retried.
    private(set) var busyRetries = 0

    static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    /// Creates the database file in WAL mode with the table, and checks the settings took.
    static func createDatabase(path: String) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, prepare: false)
        let mode = try connection.scalarText("PRAGMA journal_mode=WAL")
        guard mode.lowercased() == "wal" else { throw BenchFailure("SQLite refused WAL mode (journal_mode is \(mode))") }
        try connection.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB)")
        try connection.prepareStatements()
        return connection
    }

    /// Opens the existing database: synchronous=FULL, a 10 s busy timeout.
    convenience init(path: String) throws {
        try self.init(path: path, prepare: true)
    }

    private init(path: String, prepare: Bool) throws {
        var handle: OpaquePointer?
        let status = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        database = handle
        guard status == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            database = nil
            throw BenchFailure("SQLite open \(path): \(message)")
        }
        sqlite3_busy_timeout(database, 10_000)
        try execute("PRAGMA synchronous=FULL")
        guard try scalarText("PRAGMA synchronous") == "2" else { throw BenchFailure("SQLite refused synchronous=FULL") }
        if prepare { try prepareStatements() }
    }

    deinit {
        for statement in [upsert, select, range] { sqlite3_finalize(statement) }
        sqlite3_close_v2(database)
    }

    private func prepareStatements() throws {
        upsert = try prepareStatement("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")
        select = try prepareStatement("SELECT v FROM kv WHERE k = ?1")
        range = try prepareStatement("SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k LIMIT ?3")
    }

    private var errorMessage: String { String(cString: sqlite3_errmsg(database)) }

    private func prepareStatement(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else {
            throw BenchFailure("SQLite prepare '\(sql)': \(errorMessage)")
        }
        return statement
    }

    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(database, sql, nil, nil, &message) == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(message)
            throw BenchFailure("SQLite '\(sql)': \(text)")
        }
    }

    private func scalarText(_ sql: String) throws -> String {
        let statement = try prepareStatement(sql)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else {
            throw BenchFailure("SQLite '\(sql)' returned no row: \(errorMessage)")
        }
        return String(cString: text)
    }

    /// Steps a statement that returns no rows, retrying on SQLITE_BUSY (after the timeout).
    private func stepToDone(_ statement: OpaquePointer?, _ what: String) throws {
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            let primary = status & 0xFF
            if primary == SQLITE_BUSY || primary == SQLITE_LOCKED {
                busyRetries += 1
                sqlite3_reset(statement)
                continue
            }
            throw BenchFailure("SQLite \(what): \(errorMessage) (code \(status))")
        }
    }

    /// INSERT OR REPLACE in its own transaction (autocommit): returns once durable.
    func put(key: String, value: [UInt8]) throws {
        try key.withCString { keyText in
            try value.withUnsafeBytes { valueBytes in
                // A nil destructor is SQLITE_STATIC: the bytes stay valid until the reset below.
                sqlite3_bind_text(upsert, 1, keyText, -1, nil)
                sqlite3_bind_blob(upsert, 2, valueBytes.baseAddress, Int32(valueBytes.count), nil)
                defer {
                    sqlite3_reset(upsert)
                    sqlite3_clear_bindings(upsert)
                }
                try stepToDone(upsert, "put")
            }
        }
    }

    /// Puts many rows in one transaction (setup only).
    func putAll(_ rows: [(key: String, value: [UInt8])]) throws {
        try execute("BEGIN IMMEDIATE")
        for row in rows { try put(key: row.key, value: row.value) }
        try execute("COMMIT")
    }

    /// The value of `key`, copied out (as Tessera returns its own copy).
    func get(key: String) throws -> [UInt8]? {
        try key.withCString { keyText in
            sqlite3_bind_text(select, 1, keyText, -1, nil)
            defer {
                sqlite3_reset(select)
                sqlite3_clear_bindings(select)
            }
            var status = sqlite3_step(select)
            while status & 0xFF == SQLITE_BUSY {
                busyRetries += 1
                sqlite3_reset(select)
                status = sqlite3_step(select)
            }
            switch status {
            case SQLITE_ROW:
                return Self.columnBytes(select, 0)
            case SQLITE_DONE:
                return nil
            default:
                throw BenchFailure("SQLite get: \(errorMessage) (code \(status))")
            }
        }
    }

    private static func columnBytes(_ statement: OpaquePointer?, _ column: Int32) -> [UInt8] {
        // The pointer first, then the size (SQLite's documented order).
        guard let bytes = sqlite3_column_blob(statement, column) else { return [] }
        let count = Int(sqlite3_column_bytes(statement, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Rows with `from <= k < below` in key order, at most `limit`, keys and values copied out.
    func query(from: String, below: String, limit: Int) throws -> Int {
        try from.withCString { fromText in
            try below.withCString { belowText in
                sqlite3_bind_text(range, 1, fromText, -1, nil)
                sqlite3_bind_text(range, 2, belowText, -1, nil)
                sqlite3_bind_int(range, 3, Int32(limit))
                defer {
                    sqlite3_reset(range)
                    sqlite3_clear_bindings(range)
                }
                // Keys and values copied out as bytes, as Tessera returns sort keys and values.
                var rows: [(key: [UInt8], value: [UInt8])] = []
                rows.reserveCapacity(limit)
                while true {
                    let status = sqlite3_step(range)
                    if status == SQLITE_DONE { break }
                    guard status == SQLITE_ROW else { throw BenchFailure("SQLite query: \(errorMessage) (code \(status))") }
                    rows.append((Self.columnBytes(range, 0), Self.columnBytes(range, 1)))
                }
                return rows.count
            }
        }
    }
}

enum SQLiteBench {
    private struct ThreadOutcome: Sendable {
        var latencies: [UInt64] = []
        var operations = 0
        var misses = 0
        var busyRetries = 0
        var end: UInt64 = 0
        var failure: String?
    }

    /// Runs `threads` threads, each with its own connection, from a common start until the
    /// deadline (or until `loop` returns), and sums what they did.
    private static func run(
        path: String, threads: Int, seconds: Double, warmingWith warmKeys: [String] = [],
        _ loop: @escaping @Sendable (_ thread: Int, _ connection: SQLiteConnection, _ deadline: UInt64, _ outcome: inout ThreadOutcome) throws -> Void
    ) async throws -> (sample: Sample, operationsPerThread: [Int]) {
        let barrier = StartBarrier(parties: threads, seconds: seconds)
        let outcomes = await runOnThreads(count: threads) { thread -> ThreadOutcome in
            var outcome = ThreadOutcome()
            let connection: SQLiteConnection?
            do { connection = try SQLiteConnection(path: path) } catch {
                connection = nil
                outcome.failure = "\(error)"
            }
            if let connection, !warmKeys.isEmpty {
                for key in warmKeys { _ = try? connection.get(key: key) }
            }
            let deadline = barrier.arriveAndWait()
            guard let connection else { return outcome }
            do { try loop(thread, connection, deadline, &outcome) } catch { outcome.failure = "\(error)" }
            outcome.end = monotonicNanoseconds()
            outcome.busyRetries = connection.busyRetries
            return outcome
        }
        if let failure = outcomes.lazy.compactMap(\.failure).first { throw BenchFailure(failure) }
        let end = outcomes.map(\.end).max() ?? barrier.start
        var sample = Sample(
            operations: outcomes.reduce(0) { $0 + $1.operations }, nanoseconds: end - barrier.start,
            latencies: outcomes.flatMap(\.latencies))
        sample.details["busyRetries"] = Double(outcomes.reduce(0) { $0 + $1.busyRetries })
        let misses = outcomes.reduce(0) { $0 + $1.misses }
        if misses > 0 { sample.details["misses"] = Double(misses) }
        return (sample, outcomes.map(\.operations))
    }

    /// Durable puts of distinct keys `acme/<resource>/rnd/r<round>-w<writer>-<i>` for `seconds`.
    /// Returns the sample and how many keys each writer wrote.
    static func puts(path: String, resource: String, round: Int, writers: Int, value: [UInt8], seconds: Double) async throws
        -> (Sample, [Int])
    {
        try await run(path: path, threads: writers, seconds: seconds) { writer, connection, deadline, outcome in
            outcome.latencies.reserveCapacity(4096)
            var index = 0
            while monotonicNanoseconds() < deadline {
                let key = "acme/\(resource)/rnd/r\(round)-w\(writer)-\(index)"
                let before = monotonicNanoseconds()
                try connection.put(key: key, value: value)
                outcome.latencies.append(monotonicNanoseconds() - before)
                index += 1
            }
            outcome.operations = index
        }
    }

    /// Gets cycling through `keys` (each thread from its own offset) for `seconds`.
    static func gets(path: String, keys: [String], threads: Int, seconds: Double) async throws -> Measurement {
        // One untimed pass first, so that the reads are hot (SQLite's page cache and the OS cache).
        try await run(path: path, threads: threads, seconds: seconds, warmingWith: keys) { thread, connection, deadline, outcome in
            var index = keys.count * thread / threads
            var operations = 0
            repeat {
                for _ in 0..<256 {
                    if try connection.get(key: keys[index]) == nil { outcome.misses += 1 }
                    index += 1
                    if index == keys.count { index = 0 }
                }
                operations += 256
            } while monotonicNanoseconds() < deadline
            outcome.operations = operations
        }.sample.measurement
    }

    /// Reads each key once (stopping at `seconds`), with latencies.
    static func getEachOnce(path: String, keys: [String], seconds: Double) async throws -> Measurement {
        try await run(path: path, threads: 1, seconds: seconds) { _, connection, deadline, outcome in
            outcome.latencies.reserveCapacity(keys.count)
            for key in keys {
                let before = monotonicNanoseconds()
                if try connection.get(key: key) == nil { outcome.misses += 1 }
                let after = monotonicNanoseconds()
                outcome.latencies.append(after - before)
                if after >= deadline { break }
            }
            outcome.operations = outcome.latencies.count
        }.sample.measurement
    }

    /// Range queries of `limit` rows for `seconds`; each must return `limit` rows.
    static func queries(path: String, from: String, below: String, limit: Int, seconds: Double) async throws -> Measurement {
        try await run(path: path, threads: 1, seconds: seconds) { _, connection, deadline, outcome in
            var operations = 0
            repeat {
                for _ in 0..<16 {
                    let rows = try connection.query(from: from, below: below, limit: limit)
                    if rows != limit { throw BenchFailure("SQLite query returned \(rows) rows, expected \(limit)") }
                }
                operations += 16
            } while monotonicNanoseconds() < deadline
            outcome.operations = operations
        }.sample.measurement
    }
}
