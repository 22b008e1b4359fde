import Client
import Foundation
import Keyspace
import RedisDriver
import Storage

// The measurements of `tessera-bench queue` (QueueBenchCommand.swift): timed
// phases of concurrent callers, whole-queue reads, the extent writer alone and
// Redis Streams.

/// What the callers of one phase did; an operation that threw counts as an error, not a completion.
struct QueueTally: Sendable {
    var operations = 0
    var bytes = 0
    var errors = 0
    var firstError: String?
    var latencyMilliseconds: [Double] = []

    mutating func add(_ other: QueueTally) {
        operations += other.operations
        bytes += other.bytes
        errors += other.errors
        if firstError == nil { firstError = other.firstError }
        latencyMilliseconds += other.latencyMilliseconds
    }

    mutating func record(_ error: any Error) {
        errors += 1
        if firstError == nil { firstError = String(describing: error) }
    }
}

/// One phase's tally over its wall time; latencies sorted.
struct QueuePhaseResult: Sendable {
    var tally: QueueTally
    var wallSeconds: Double

    var megabytesPerSecond: Double { Double(tally.bytes) / max(wallSeconds, 1e-9) / 1e6 }
    var operationsPerSecond: Double { Double(tally.operations) / max(wallSeconds, 1e-9) }

    /// Nearest-rank percentile of the latencies, 0 when nothing completed.
    func latencyMilliseconds(percentile fraction: Double) -> Double {
        let sorted = tally.latencyMilliseconds
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}

/// The extent writer and reader alone, on the same disk as the cluster.
struct ExtentBenchResult: Sendable {
    var entryBytes: Int
    var totalBytes: Int
    var extents: Int
    var writeMegabytesPerSecond: Double
    var readMegabytesPerSecond: Double
}

enum QueueBenchPhases {
    static func elapsedSeconds(since start: ContinuousClock.Instant) -> Double {
        let parts = (ContinuousClock.now - start).components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// Random (incompressible) bytes.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            let word: UInt64 = generator.next()
            for offset in 0..<min(8, count - index) { bytes[index + offset] = UInt8(truncatingIfNeeded: word >> (8 * offset)) }
            index += 8
        }
        return bytes
    }

    /// `callers` loops calling `body(worker)` (which returns the bytes it moved) for
    /// `seconds`. Errors are counted, never thrown; a failed call pauses its caller 10 ms.
    static func timed(seconds: Double, callers: Int, _ body: @escaping @Sendable (Int) async throws -> Int) async -> QueuePhaseResult {
        let started = ContinuousClock.now
        let end = started + .milliseconds(Int64(seconds * 1000))
        var total = await withTaskGroup(of: QueueTally.self) { group in
            for worker in 0..<callers {
                group.addTask {
                    var tally = QueueTally()
                    while ContinuousClock.now < end {
                        let begin = ContinuousClock.now
                        do {
                            tally.bytes += try await body(worker)
                            tally.operations += 1
                            tally.latencyMilliseconds.append(QueueBenchPhases.elapsedSeconds(since: begin) * 1e3)
                        } catch {
                            tally.record(error)
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                    }
                    return tally
                }
            }
            var sum = QueueTally()
            for await tally in group { sum.add(tally) }
            return sum
        }
        total.latencyMilliseconds.sort()
        return QueuePhaseResult(tally: total, wallSeconds: elapsedSeconds(since: started))
    }

    /// Reads sequences `first...last` of `queue` in pages of up to 10,000 entries (about 4 MiB),
    /// `readers` at once over disjoint ranges. Operations count entries; latencies are per page.
    /// A reader stops at its first error.
    static func readAll(client: TesseraClient, queue: Key, first: UInt64, last: UInt64, readers: Int) async -> QueuePhaseResult {
        let started = ContinuousClock.now
        let span = last >= first ? last - first + 1 : 0
        let readerCount = UInt64(max(readers, 1))
        var total = await withTaskGroup(of: QueueTally.self) { group in
            for reader in 0..<readerCount {
                let low = first + span * reader / readerCount
                let high = first + span * (reader + 1) / readerCount  // exclusive
                guard low < high else { continue }
                group.addTask {
                    var tally = QueueTally()
                    var next = low
                    while next < high {
                        let begin = ContinuousClock.now
                        do {
                            let page = try await client.readQueue(queue, from: next, maximum: 10_000)
                            guard let lastEntry = page.entries.last else { break }
                            for entry in page.entries where entry.sequence < high {
                                tally.bytes += entry.payload.count
                                tally.operations += 1
                            }
                            tally.latencyMilliseconds.append(QueueBenchPhases.elapsedSeconds(since: begin) * 1e3)
                            next = lastEntry.sequence + 1
                        } catch {
                            tally.record(error)
                            break
                        }
                    }
                    return tally
                }
            }
            var sum = QueueTally()
            for await tally in group { sum.add(tally) }
            return sum
        }
        total.latencyMilliseconds.sort()
        return QueuePhaseResult(tally: total, wallSeconds: elapsedSeconds(since: started))
    }

    /// Writes `totalBytes` of `payload` entries through ``ExtentWriter`` into `folder`
    /// (a new extent whenever the current one is full, each made durable by `finish()`),
    /// then reads them all back in pages of 4 MiB. The folder is removed afterwards.
    static func extents(folder: String, totalBytes: Int, payload: [UInt8]) throws -> ExtentBenchResult {
        try? FileManager.default.removeItem(atPath: folder)
        let directory = try ExtentDirectory.open(path: folder)
        defer {
            directory.close()
            try? FileManager.default.removeItem(atPath: folder)
        }
        let tag = [UInt8](repeating: 0x51, count: ExtentFormat.queueTagBytes)
        let entries = max(1, totalBytes / max(payload.count, 1))
        let writeStarted = ContinuousClock.now
        var ids: [UInt64] = [1]
        var writer = try directory.makeWriter(extentID: 1, queueTag: tag, firstSeq: 1)
        do {
            for seq in 1...UInt64(entries) {
                if !writer.canAppend(payloadBytes: payload.count) {
                    try writer.finish()
                    let id = ids[ids.count - 1] + 1
                    ids.append(id)
                    writer = try directory.makeWriter(extentID: id, queueTag: tag, firstSeq: seq)
                }
                try writer.append(seq: seq, payload: payload)
            }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        let writeSeconds = elapsedSeconds(since: writeStarted)

        let readStarted = ContinuousClock.now
        var readBytes = 0
        for id in ids {
            let reader = try directory.openReader(id)
            defer { reader.close() }
            var next = reader.firstSeq
            while true {
                let page = try reader.entries(from: next, countMaximum: Int.max, bytesMaximum: 4 << 20)
                for entry in page { readBytes += entry.payload.count }
                guard let lastEntry = page.last, lastEntry.seq < reader.lastSeq else { break }
                next = lastEntry.seq + 1
            }
        }
        let readSeconds = elapsedSeconds(since: readStarted)
        let writtenBytes = entries * payload.count
        return ExtentBenchResult(
            entryBytes: payload.count, totalBytes: writtenBytes, extents: ids.count,
            writeMegabytesPerSecond: Double(writtenBytes) / max(writeSeconds, 1e-9) / 1e6,
            readMegabytesPerSecond: Double(readBytes) / max(readSeconds, 1e-9) / 1e6)
    }

    /// `XADD <stream> * p <payload>` from each count of clients (a connection each) for
    /// `seconds`, against a redis-server started here with the append-only file fsynced
    /// before every reply, then stopped. Results by client count, and a note when skipped or failed.
    static func redisStreams(folder: String, seconds: Double, clientCounts: [Int], payload: [UInt8],
                             progress: BenchProgress) async -> (results: [Int: QueuePhaseResult], note: String?) {
        guard let executable = executableOnPath("redis-server") else { return ([:], "redis-server not installed: skipped") }
        let server: RedisServer
        do {
            server = try RedisServer.start(executable: executable, folder: folder)
        } catch {
            return ([:], "redis-server did not start (\(error)): skipped")
        }
        var results: [Int: QueuePhaseResult] = [:]
        var note: String?
        do {
            let system = RedisSystem(host: "127.0.0.1", port: server.port)
            try await system.waitUntilReady(timeout: .seconds(20))
            let appendfsync = try await system.configValue("appendfsync")
            guard appendfsync == "always" else {
                throw BenchFailure("redis reports appendfsync \(appendfsync ?? "unset"), not always")
            }
            for count in clientCounts {
                progress.say("Redis Streams: XADD \(payload.count) bytes, \(count) clients, \(seconds) s")
                var connections: [RedisConnection] = []
                for _ in 0..<count { connections.append(try await system.connect()) }
                let stream = Array("bench-queue-\(count)c-\(UInt32.random(in: 0...UInt32.max))".utf8)
                let command: [[UInt8]] = [Array("XADD".utf8), stream, Array("*".utf8), Array("p".utf8), payload]
                let pool = connections
                let payloadBytes = payload.count
                results[count] = await timed(seconds: seconds, callers: count) { worker in
                    _ = try await pool[worker].send(command)
                    return payloadBytes
                }
                for connection in connections { await connection.close() }
            }
        } catch {
            note = "Redis Streams: \(error) (log: \(server.process.logTail()))"
        }
        await server.process.stop()
        return (results, note)
    }
}
