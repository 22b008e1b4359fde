import Keyspace
import LoadGeneration
import Storage

// The Tessera side of `tessera-bench storage`: the Store's public API, with
// writers and readers as Swift tasks in a task group.

enum TesseraStorageBench {
    /// Durable puts of distinct keys `acme/<resource>/rnd/r<round>-w<writer>-<i>` for `seconds`.
    /// Returns the sample and how many keys each writer wrote.
    static func puts(store: Store, resource: String, round: Int, writers: Int, value: [UInt8], seconds: Double) async throws
        -> (Sample, [Int])
    {
        let generationBefore = store.statistics.checkpointGeneration
        let start = monotonicNanoseconds()
        let deadline = start + nanoseconds(seconds: seconds)
        let perWriter = try await withThrowingTaskGroup(of: (Int, [UInt64]).self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var latencies: [UInt64] = []
                    latencies.reserveCapacity(4096)
                    var index = 0
                    while monotonicNanoseconds() < deadline {
                        let key = try Key(account: "acme", resource: resource, type: .rnd, primaryKey: "r\(round)-w\(writer)-\(index)")
                        let before = monotonicNanoseconds()
                        let outcome = try await store.put(key, value: value)
                        latencies.append(monotonicNanoseconds() - before)
                        guard case .applied = outcome else { throw BenchFailure("Tessera put of \(key) was not applied: \(outcome)") }
                        index += 1
                    }
                    return (writer, latencies)
                }
            }
            var results = Array(repeating: [UInt64](), count: writers)
            for try await (writer, latencies) in group { results[writer] = latencies }
            return results
        }
        let end = monotonicNanoseconds()
        var sample = Sample(operations: perWriter.reduce(0) { $0 + $1.count }, nanoseconds: end - start, latencies: perWriter.flatMap { $0 })
        sample.details["checkpoints"] = Double(store.statistics.checkpointGeneration - generationBefore)
        return (sample, perWriter.map(\.count))
    }

    /// Gets cycling through `keys` for `seconds`, from `tasks` tasks (each from its own offset).
    /// One untimed pass first, so that every collection is in the engine's cache.
    static func gets(store: Store, keys: [Key], tasks: Int, seconds: Double) async throws -> Measurement {
        for key in keys { _ = try await store.get(key) }
        let start = monotonicNanoseconds()
        let deadline = start + nanoseconds(seconds: seconds)
        let counts = try await withThrowingTaskGroup(of: (operations: Int, misses: Int).self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var index = keys.count * task / tasks
                    var operations = 0
                    var misses = 0
                    repeat {
                        for _ in 0..<256 {
                            if try await store.get(keys[index]) == nil { misses += 1 }
                            index += 1
                            if index == keys.count { index = 0 }
                        }
                        operations += 256
                    } while monotonicNanoseconds() < deadline
                    return (operations, misses)
                }
            }
            var total = (operations: 0, misses: 0)
            for try await count in group {
                total.operations += count.operations
                total.misses += count.misses
            }
            return total
        }
        var measurement = Measurement(operations: counts.operations, nanoseconds: monotonicNanoseconds() - start)
        if counts.misses > 0 { measurement.details["misses"] = Double(counts.misses) }
        return measurement
    }

    /// Reads each key once (stopping at `seconds`), with latencies.
    static func getEachOnce(store: Store, keys: [Key], seconds: Double) async throws -> Measurement {
        var latencies: [UInt64] = []
        latencies.reserveCapacity(keys.count)
        var misses = 0
        let start = monotonicNanoseconds()
        let deadline = start + nanoseconds(seconds: seconds)
        for key in keys {
            let before = monotonicNanoseconds()
            if try await store.get(key) == nil { misses += 1 }
            let after = monotonicNanoseconds()
            latencies.append(after - before)
            if after >= deadline { break }
        }
        var measurement = Measurement(operations: latencies.count, nanoseconds: monotonicNanoseconds() - start, latencies: latencies)
        if misses > 0 { measurement.details["misses"] = Double(misses) }
        return measurement
    }

    /// Queries of the whole collection of `key` (`limit` items) for `seconds`.
    static func queries(store: Store, key: Key, limit: Int, seconds: Double) async throws -> Measurement {
        _ = try await store.query(key, QueryRange(limit: limit))
        let start = monotonicNanoseconds()
        let deadline = start + nanoseconds(seconds: seconds)
        var operations = 0
        repeat {
            for _ in 0..<16 {
                let page = try await store.query(key, QueryRange(limit: limit))
                if page.items.count != limit {
                    throw BenchFailure("Tessera query returned \(page.items.count) items, expected \(limit)")
                }
            }
            operations += 16
        } while monotonicNanoseconds() < deadline
        return Measurement(operations: operations, nanoseconds: monotonicNanoseconds() - start)
    }
}
