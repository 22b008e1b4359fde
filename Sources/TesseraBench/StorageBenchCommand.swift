import ArgumentParser
import Cell
import CommandSupport
import Foundation
import Keyspace
import LoadGeneration
import Storage

#if canImport(Glibc)
    import Glibc
#endif

struct StorageBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Durable puts/s, gets/s and queries/s of the storage engine, against SQLite and the disk's fsync limit.",
        discussion: """
            In one run, on one disk, side by side:
              raw     4 KiB append + fdatasync per second on a plain file (the limit of one synchronous writer)
              Tessera durable puts from 1, 16 and 64 writers (tasks), 100 B and 4 KiB values, distinct keys;
                      hot gets (1 and 2 tasks), cold gets (after a reopen; then with the files evicted from
                      the OS cache), and a 100-item query
              SQLite  the same keys and values: WAL mode, synchronous=FULL, one transaction per put,
                      each writer a thread with its own connection (busy_timeout 10 s)
            Tessera and SQLite cases alternate so that drift of the machine hits both.
            Latency rows: lower is better.

            Examples:
              .build-release/release/tessera-bench storage --quick
              .build-release/release/tessera-bench storage --seconds 5 --dir /mnt/nvme/tmp --json
            """
    )

    @Option(help: "Folder on the disk to measure; the benchmark works in <dir>/bench-<pid> and removes it at the end.")
    var dir: String = ".tessera"

    @Option(help: "Seconds per case (default 3, or 0.5 with --quick).")
    var seconds: Double?

    @Flag(help: "Short cases (0.5 s each): a quick look in about 15 seconds.")
    var quick = false

    @Flag(help: "Print the results as JSON instead of a table.")
    var json = false

    func validate() throws {
        if let seconds, !(seconds > 0 && seconds <= 600) {
            throw ValidationError("--seconds must be more than 0 and at most 600, got \(seconds)")
        }
    }

    func run() async throws {
        warnIfDebugBuild()
        let caseSeconds = seconds ?? (quick ? 0.5 : 3)
        let root = dir + "/bench-\(getpid())"
        if FileManager.default.fileExists(atPath: root) {
            throw commandFailure("\(root) already exists; remove it or pick another --dir", status: ExitStatus.badInput)
        }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw commandFailure("cannot create \(root): \(error.localizedDescription)", status: ExitStatus.ioError)
        }
        defer { try? FileManager.default.removeItem(atPath: root) }

        let command = CommandLine.arguments.joined(separator: " ")
        let runner = StorageBenchRunner(root: root, seconds: caseSeconds, command: command)
        let report: StorageBenchReport
        do {
            report = try await runner.run()
        } catch {
            runner.closeAll()
            throw commandFailure("storage benchmark failed: \(error)", status: ExitStatus.ioError)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text())
        }
    }
}

// MARK: - Results

/// One line of the table. Ratios are Tessera over the other column.
struct TableRow: Codable, Sendable {
    var figure: String
    var unit: String
    var tessera: Double?
    var sqlite: Double?
    var raw: Double?
    var tesseraOverSQLite: Double?
    var tesseraOverRaw: Double?

    init(_ figure: String, _ unit: String, tessera: Double?, sqlite: Double?, raw: Double?) {
        self.figure = figure
        self.unit = unit
        self.tessera = tessera
        self.sqlite = sqlite
        self.raw = raw
        if let tessera, let sqlite, sqlite > 0 { tesseraOverSQLite = tessera / sqlite }
        if let tessera, let raw, raw > 0 { tesseraOverRaw = tessera / raw }
    }
}

/// One measured case, with all its counters (the JSON's detail).
struct CaseRecord: Codable, Sendable {
    var system: String
    var figure: String
    var measurement: Measurement
}

struct Goal: Codable, Sendable {
    var name: String
    var measured: String
    var target: String
    var met: Bool
}

struct StorageBenchReport: Codable, Sendable {
    var command: String
    var machine: MachineInfo
    var secondsPerCase: Double
    var rows: [TableRow]
    var goals: [Goal]
    var notes: [String]
    var cases: [CaseRecord]

    func text() -> String {
        var lines: [String] = []
        lines.append("storage benchmark: \(machine.cores) cores (\(machine.cpu)), \(machine.kernel), \(machine.build) build")
        lines.append("  disk: \(machine.directory) on \(machine.filesystem) (\(machine.device)); SQLite \(machine.sqliteVersion); \(Self.number(secondsPerCase)) s per case")
        lines.append("")
        let header = Self.pad("figure", 34, left: true) + Self.pad("unit", 8, left: true) + Self.pad("Tessera", 12) + Self.pad("SQLite", 12)
            + Self.pad("raw limit", 12) + Self.pad("Tessera/SQLite", 16) + Self.pad("Tessera/raw", 13)
        lines.append(header)
        lines.append(String(repeating: "-", count: header.count))
        for row in rows {
            lines.append(
                Self.pad(row.figure, 34, left: true) + Self.pad(row.unit, 8, left: true)
                    + Self.pad(row.tessera.map(Self.number) ?? "—", 12) + Self.pad(row.sqlite.map(Self.number) ?? "—", 12)
                    + Self.pad(row.raw.map(Self.number) ?? "—", 12)
                    + Self.pad(row.tesseraOverSQLite.map(Self.ratio) ?? "—", 16)
                    + Self.pad(row.tesseraOverRaw.map(Self.ratio) ?? "—", 13))
        }
        lines.append("")
        lines.append("goals:")
        for goal in goals {
            lines.append("  \(goal.met ? "met " : "MISS")  \(goal.name): \(goal.measured) (goal \(goal.target))")
        }
        lines.append("")
        lines.append("notes:")
        for note in notes { lines.append("  - " + note) }
        lines.append("")
        lines.append("command: \(command)")
        return lines.joined(separator: "\n")
    }

    static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let count = text.count
        guard count < width else { return " " + text }
        let padding = String(repeating: " ", count: width - count)
        return left ? text + padding : padding + text
    }

    /// 1,234,567 for large figures, 12.3 or 1.23 for small ones.
    static func number(_ value: Double) -> String {
        if value >= 100 {
            let digits = String(Int(value.rounded()))
            var grouped = ""
            for (offset, character) in digits.enumerated() {
                if offset > 0 && (digits.count - offset) % 3 == 0 { grouped.append(",") }
                grouped.append(character)
            }
            return grouped
        }
        return String(format: value >= 10 ? "%.1f" : "%.2f", value)
    }

    static func ratio(_ value: Double) -> String { String(format: "%.2f×", value) }
}

// MARK: - The run

/// Runs the cases in order and collects the report. Used by one task only.
final class StorageBenchRunner {
    let root: String
    let seconds: Double
    let command: String
    private let tesseraPath: String
    private let sqlitePath: String
    private let rawPath: String
    private var store: Store?
    private var keeper: SQLiteConnection?
    private var rows: [TableRow] = []
    private var cases: [CaseRecord] = []
    private var notes: [String] = []

    private static let writerCounts = [1, 16, 64]
    private static let valueSizes = [100, 4096]
    private static let queryItems = 100
    /// Rounds per put case (each `seconds / rounds` long): raw, Tessera and SQLite in turn.
    private var rounds: Int { seconds >= 2 ? 3 : 1 }
    private var roundSeconds: Double { seconds / Double(rounds) }

    init(root: String, seconds: Double, command: String) {
        self.root = root
        self.seconds = seconds
        self.command = command
        tesseraPath = root + "/tessera"
        sqlitePath = root + "/sqlite.db"
        rawPath = root + "/raw-fsync.dat"
    }

    /// Closes what is open, after a failure.
    func closeAll() {
        try? store?.close()
        store = nil
        keeper = nil
    }

    private func progress(_ message: String) { printToStandardError(message) }

    private func record(_ system: String, _ figure: String, _ measurement: Measurement) {
        cases.append(CaseRecord(system: system, figure: figure, measurement: measurement))
        var line = "  \(system.padding(toLength: 8, withPad: " ", startingAt: 0)) \(figure): "
            + "\(StorageBenchReport.number(measurement.perSecond))/s"
        if let p50 = measurement.p50Microseconds, let p99 = measurement.p99Microseconds {
            line += ", p50 \(StorageBenchReport.number(p50)) µs, p99 \(StorageBenchReport.number(p99)) µs"
        }
        for (name, value) in measurement.details.sorted(by: { $0.key < $1.key }) where value != 0 {
            line += ", \(name) " + (value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : StorageBenchReport.number(value))
        }
        progress(line)
    }

    func run() async throws -> StorageBenchReport {
        var machine = MachineInfo.describe(directory: root, sqliteVersion: SQLiteConnection.libraryVersion)
        let caseCount = Self.writerCounts.count * Self.valueSizes.count
        let estimate = Double(3 + caseCount * 3 + 10) * seconds + 5
        progress("storage benchmark in \(root): \(StorageBenchReport.number(seconds)) s per case, about \(Int(estimate)) s in all")
        if machine.filesystem == "tmpfs" || machine.filesystem == "ramfs" {
            notes.append("WARNING: \(root) is on \(machine.filesystem): fsync costs nothing there, so no figure here is about a disk")
        }

        store = try Store(path: tesseraPath)
        keeper = try SQLiteConnection.createDatabase(path: sqlitePath)
        // The keeper stays open through the put cases, so that a writer closing its connection
        // never checkpoints SQLite's WAL outside the measured time (auto-checkpoints inside it count).

        // Warm-up (not measured): first files, first pages, thread pools.
        let warmValue = patternBytes(count: 100, seed: 1)
        _ = try await TesseraStorageBench.puts(store: store!, resource: "bench-warmup", round: 0, writers: 4, value: warmValue, seconds: 0.2)
        _ = try await SQLiteBench.puts(path: sqlitePath, resource: "bench-warmup", round: 0, writers: 4, value: warmValue, seconds: 0.2)

        // 1. The raw limits (append again in every put case, and after them all).
        var rawPooled = Sample()
        let rawBefore = try RawDisk.appendAndSync(path: rawPath, blockBytes: 4096, seconds: seconds)
        rawPooled.add(rawBefore)
        record("raw", "4 KiB append+fdatasync (before)", rawBefore.measurement)

        // 2 and 3. Puts. Each case runs in rounds; each round measures raw, Tessera and SQLite,
        // in an order that rotates from round to round, so that drift hits all three alike.
        struct PutCase { var writers: Int; var size: Int; var tessera: Measurement; var sqlite: Measurement; var raw: Measurement }
        var putCases: [PutCase] = []
        /// Keys both systems wrote in the 100 B cases, for the reads.
        var readKeys: [(resource: String, round: Int, writer: Int, index: Int)] = []
        for writers in Self.writerCounts {
            for size in Self.valueSizes {
                let resource = "bench-put-w\(writers)-v\(size)"
                let value = patternBytes(count: size, seed: UInt64(size))
                var tessera = Sample(), sqlite = Sample(), raw = Sample()
                for round in 0..<rounds {
                    var tesseraCounts: [Int] = [], sqliteCounts: [Int] = []
                    for step in 0..<3 {
                        switch (step + round) % 3 {
                        case 0:
                            raw.add(try RawDisk.appendAndSync(path: rawPath, blockBytes: 4096, seconds: roundSeconds))
                        case 1:
                            let (sample, counts) = try await measuringCPU {
                                try await TesseraStorageBench.puts(
                                    store: store!, resource: resource, round: round, writers: writers, value: value, seconds: roundSeconds)
                            }
                            tessera.add(sample)
                            tesseraCounts = counts
                        default:
                            let (sample, counts) = try await measuringCPU {
                                try await SQLiteBench.puts(
                                    path: sqlitePath, resource: resource, round: round, writers: writers, value: value, seconds: roundSeconds)
                            }
                            sqlite.add(sample)
                            sqliteCounts = counts
                        }
                    }
                    if size == 100 {
                        for writer in 0..<writers {
                            for index in 0..<min(tesseraCounts[writer], sqliteCounts[writer]) {
                                readKeys.append((resource, round, writer, index))
                            }
                        }
                    }
                }
                rawPooled.add(raw)
                let figure = "put \(Self.sizeText(size)) × \(writers) writer\(writers == 1 ? "" : "s")"
                let putCase = PutCase(
                    writers: writers, size: size, tessera: tessera.measurement, sqlite: sqlite.measurement, raw: raw.measurement)
                record("tessera", figure, putCase.tessera)
                record("sqlite", figure, putCase.sqlite)
                record("raw", figure + " (alongside)", putCase.raw)
                putCases.append(putCase)
            }
        }
        let rawAfter = try RawDisk.appendAndSync(path: rawPath, blockBytes: 4096, seconds: seconds)
        record("raw", "4 KiB append+fdatasync (after)", rawAfter.measurement)
        rawPooled.add(rawAfter)
        let raw = rawPooled.measurement
        // Last, because it first writes its whole file (which some virtual disks' rate limits count).
        let rawOverwrite = try RawDisk.appendAndSync(path: rawPath, blockBytes: 4096, seconds: seconds, ringBytes: 1 << 20).measurement
        record("raw", "4 KiB overwrite+fdatasync (preallocated 1 MiB)", rawOverwrite)
        record("raw", "4 KiB append+fdatasync (all)", raw)

        let tesseraBytes = Double(RawDisk.allocatedBytes([tesseraPath]))
        let sqliteBytes = Double(RawDisk.allocatedBytes([sqlitePath, sqlitePath + "-wal", sqlitePath + "-shm"]))
        // Keys and values written (a key's text is about 40 bytes here).
        let tesseraLogicalBytes = putCases.map { Double($0.tessera.operations) * Double($0.size + 40) }.reduce(0, +)
        let sqliteLogicalBytes = putCases.map { Double($0.sqlite.operations) * Double($0.size + 40) }.reduce(0, +)

        rows.append(TableRow("4 KiB append + fdatasync", "ops/s", tessera: nil, sqlite: nil, raw: raw.perSecond))
        rows.append(TableRow("  p50 latency", "µs", tessera: nil, sqlite: nil, raw: raw.p50Microseconds))
        rows.append(TableRow("  p99 latency", "µs", tessera: nil, sqlite: nil, raw: raw.p99Microseconds))
        rows.append(TableRow("4 KiB overwrite + fdatasync *", "ops/s", tessera: nil, sqlite: nil, raw: rawOverwrite.perSecond))
        rows.append(TableRow("  p50 latency", "µs", tessera: nil, sqlite: nil, raw: rawOverwrite.p50Microseconds))
        for put in putCases {
            let figure = "put \(Self.sizeText(put.size)), \(put.writers) writer\(put.writers == 1 ? "" : "s")"
            rows.append(TableRow(figure, "puts/s", tessera: put.tessera.perSecond, sqlite: put.sqlite.perSecond, raw: put.raw.perSecond))
            rows.append(TableRow("  p50 latency", "µs", tessera: put.tessera.p50Microseconds, sqlite: put.sqlite.p50Microseconds, raw: put.raw.p50Microseconds))
            rows.append(TableRow("  p99 latency", "µs", tessera: put.tessera.p99Microseconds, sqlite: put.sqlite.p99Microseconds, raw: put.raw.p99Microseconds))
        }

        rows.append(TableRow(
            "disk space ÷ keys+values written", "×", tessera: tesseraBytes / max(tesseraLogicalBytes, 1),
            sqlite: sqliteBytes / max(sqliteLogicalBytes, 1), raw: nil))

        // 4. Reads of the 100 B keys both wrote, in the same shuffled order for both.
        var random = SplitMix64(seed: 0x5EED)
        readKeys.shuffle(using: &random)
        let tesseraKeys = try readKeys.map {
            try Key(account: "acme", resource: $0.resource, type: .rnd, primaryKey: "r\($0.round)-w\($0.writer)-\($0.index)")
        }
        let sqliteKeys = readKeys.map { "acme/\($0.resource)/rnd/r\($0.round)-w\($0.writer)-\($0.index)" }
        guard !readKeys.isEmpty else { throw BenchFailure("no keys were written by both systems") }

        let queryKey = try Key(account: "acme", resource: "bench-query", type: .rnd, primaryKey: "coll")
        let queryValue = patternBytes(count: 100, seed: 3)
        let sortKeys = (0..<Self.queryItems).map { String(format: "s%03d", $0) }
        _ = try await store!.write(sortKeys.map {
            .put(try! Key(account: "acme", resource: "bench-query", type: .rnd, primaryKey: "coll", sortKey: $0), queryValue)
        })
        try keeper!.putAll(sortKeys.map { ("acme/bench-query/rnd/coll/" + $0, queryValue) })

        let hot1 = try await TesseraStorageBench.gets(store: store!, keys: tesseraKeys, tasks: 1, seconds: seconds)
        record("tessera", "hot get, 1 task", hot1)
        let hot1SQLite = try await SQLiteBench.gets(path: sqlitePath, keys: sqliteKeys, threads: 1, seconds: seconds)
        record("sqlite", "hot get, 1 thread", hot1SQLite)
        let hot2 = try await TesseraStorageBench.gets(store: store!, keys: tesseraKeys, tasks: 2, seconds: seconds)
        record("tessera", "hot get, 2 tasks", hot2)
        let hot2SQLite = try await SQLiteBench.gets(path: sqlitePath, keys: sqliteKeys, threads: 2, seconds: seconds)
        record("sqlite", "hot get, 2 threads", hot2SQLite)
        let query = try await TesseraStorageBench.queries(store: store!, key: queryKey, limit: Self.queryItems, seconds: seconds)
        record("tessera", "query 100 items", query)
        let querySQLite = try await SQLiteBench.queries(
            path: sqlitePath, from: "acme/bench-query/rnd/coll/", below: "acme/bench-query/rnd/coll0",
            limit: Self.queryItems, seconds: seconds)
        record("sqlite", "query 100 items", querySQLite)

        // Cold: close, reopen, read each key once (capped at twice the case time).
        let coldSeconds = max(2 * seconds, 1)
        let (closeMilliseconds, reopenMilliseconds) = try reopenStore(evict: false)
        var cold = try await TesseraStorageBench.getEachOnce(store: store!, keys: tesseraKeys, seconds: coldSeconds)
        cold.details["closeMilliseconds"] = closeMilliseconds
        cold.details["reopenMilliseconds"] = reopenMilliseconds
        record("tessera", "cold get (reopened, OS cache warm)", cold)
        keeper = nil  // the last connection: SQLite checkpoints its WAL into the database here
        let coldSQLite = try await SQLiteBench.getEachOnce(path: sqlitePath, keys: sqliteKeys, seconds: coldSeconds)
        record("sqlite", "cold get (reopened, OS cache warm)", coldSQLite)

        let evictedReopenMilliseconds = try reopenStore(evict: true).reopen
        var evicted = try await TesseraStorageBench.getEachOnce(store: store!, keys: tesseraKeys, seconds: coldSeconds)
        evicted.details["reopenMilliseconds"] = evictedReopenMilliseconds
        record("tessera", "cold get (files evicted from OS cache)", evicted)
        RawDisk.evictFromPageCache(directory: root)
        let evictedSQLite = try await SQLiteBench.getEachOnce(path: sqlitePath, keys: sqliteKeys, seconds: coldSeconds)
        record("sqlite", "cold get (files evicted from OS cache)", evictedSQLite)
        let statistics = store!.statistics
        try store!.close()
        store = nil

        rows.append(TableRow("hot get, 1 task/thread", "gets/s", tessera: hot1.perSecond, sqlite: hot1SQLite.perSecond, raw: nil))
        rows.append(TableRow("hot get, 2 tasks/threads", "gets/s", tessera: hot2.perSecond, sqlite: hot2SQLite.perSecond, raw: nil))
        rows.append(TableRow("query 100 items", "q/s", tessera: query.perSecond, sqlite: querySQLite.perSecond, raw: nil))
        rows.append(TableRow("cold get, OS cache warm", "gets/s", tessera: cold.perSecond, sqlite: coldSQLite.perSecond, raw: nil))
        rows.append(TableRow("  p50 latency", "µs", tessera: cold.p50Microseconds, sqlite: coldSQLite.p50Microseconds, raw: nil))
        rows.append(TableRow("cold get, files evicted", "gets/s", tessera: evicted.perSecond, sqlite: evictedSQLite.perSecond, raw: nil))
        rows.append(TableRow("  p50 latency", "µs", tessera: evicted.p50Microseconds, sqlite: evictedSQLite.p50Microseconds, raw: nil))

        // Goals.
        var goals: [Goal] = []
        let single = putCases.filter { $0.writers == 1 }
        let singleRatios = single.map { put in
            (size: put.size, ratio: (put.tessera.p50Microseconds ?? 0) / max(put.raw.p50Microseconds ?? 0, 1e-9),
             tessera: put.tessera.p50Microseconds ?? 0, raw: put.raw.p50Microseconds ?? 0)
        }
        goals.append(Goal(
            name: "single-writer put p50 / raw 4 KiB append+fdatasync p50 (raw measured alongside)",
            measured: singleRatios.map {
                "\(Self.sizeText($0.size)) \(String(format: "%.2f", $0.ratio)) (\(StorageBenchReport.number($0.tessera)) vs \(StorageBenchReport.number($0.raw)) µs)"
            }.joined(separator: ", "),
            target: "≤ 1.3", met: singleRatios.allSatisfy { $0.ratio <= 1.3 }))
        let wide = putCases.filter { $0.writers == 64 }
        let wideRatios = wide.map { ($0.size, $0.tessera.perSecond / max($0.sqlite.perSecond, 1e-9)) }
        goals.append(Goal(
            name: "64-writer puts/s, Tessera / SQLite",
            measured: wideRatios.map { "\(Self.sizeText($0.0)) \(String(format: "%.2f×", $0.1))" }.joined(separator: ", "),
            target: "≥ 3×", met: wideRatios.allSatisfy { $0.1 >= 3 }))
        goals.append(Goal(
            name: "hot gets/s, 1 task",
            measured: StorageBenchReport.number(hot1.perSecond),
            target: "≥ 300,000/s on one core", met: hot1.perSecond >= 300_000))

        // Notes.
        notes.append("raw limit = one synchronous writer: 4 KiB pwrite at the end of a file + fdatasync. In a put row it is measured "
            + "in the same rounds as that case (\(rounds) round\(rounds == 1 ? "" : "s") of \(StorageBenchReport.number(roundSeconds)) s each, "
            + "raw, Tessera and SQLite in rotating order); the top rows pool every raw measurement: before the puts "
            + "(\(StorageBenchReport.number(rawBefore.measurement.perSecond))/s, p50 \(StorageBenchReport.number(rawBefore.measurement.p50Microseconds ?? 0)) µs), "
            + "alongside each case, and after (\(StorageBenchReport.number(rawAfter.measurement.perSecond))/s, "
            + "p50 \(StorageBenchReport.number(rawAfter.measurement.p50Microseconds ?? 0)) µs). "
            + "Group commit lets many writers pass it: Tessera/raw > 1 there is sharing, not a mistake.")
        notes.append("* overwrite = 4 KiB blocks written in a ring over a preallocated, synced 1 MiB file: the file's size never changes, "
            + "so fdatasync need not also write the inode (or commit a journal). SQLite reuses its WAL file this way; a log that only "
            + "appends pays for the metadata on every sync. Not used in the ratios.")
        notes.append("Tessera checkpoints during the put cases (longest put): "
            + putCases.map {
                "\(Self.sizeText($0.size))×\($0.writers) \(Int($0.tessera.details["checkpoints"] ?? 0)) "
                    + "(\(StorageBenchReport.number(($0.tessera.maxMicroseconds ?? 0) / 1000)) ms)"
            }.joined(separator: ", ")
            + "; one starts each time the WAL grows by 64 MiB, and it holds the engine lock while it writes")
        notes.append("CPU per put (user + system of this process, µs; \(machine.cores) cores): "
            + putCases.map {
                "\(Self.sizeText($0.size))×\($0.writers) Tessera \(StorageBenchReport.number($0.tessera.details["cpuMicrosecondsPerOperation"] ?? 0))"
                    + " SQLite \(StorageBenchReport.number($0.sqlite.details["cpuMicrosecondsPerOperation"] ?? 0))"
            }.joined(separator: ", "))
        notes.append("disk space after the puts (allocated blocks): Tessera \(StorageBenchReport.number(tesseraBytes / 1_048_576)) MiB "
            + "for \(StorageBenchReport.number(Double(putCases.map(\.tessera.operations).reduce(0, +)))) puts "
            + "(about \(StorageBenchReport.number(tesseraLogicalBytes / 1_048_576)) MiB of keys and values; a collection takes whole 4 KiB pages, "
            + "the WAL since the last checkpoint is there too, and pages of the previous checkpoint stay until the next), "
            + "SQLite \(StorageBenchReport.number(sqliteBytes / 1_048_576)) MiB for \(StorageBenchReport.number(Double(putCases.map(\.sqlite.operations).reduce(0, +)))) puts "
            + "(about \(StorageBenchReport.number(sqliteLogicalBytes / 1_048_576)) MiB); the mix of value sizes differs, so compare the ratio row")
        let busy = putCases.map { Int($0.sqlite.details["busyRetries"] ?? 0) }.reduce(0, +)
        if busy > 0 { notes.append("SQLite steps that stayed SQLITE_BUSY past the 10 s busy timeout and were retried: \(busy)") }
        notes.append("reads use the \(StorageBenchReport.number(Double(readKeys.count))) keys with 100 B values that both systems wrote, shuffled; "
            + "cold gets read each once (at most \(StorageBenchReport.number(coldSeconds)) s): Tessera \(cold.operations) and \(evicted.operations), "
            + "SQLite \(coldSQLite.operations) and \(evictedSQLite.operations) keys; Tessera reopened in "
            + "\(StorageBenchReport.number(reopenMilliseconds)) ms and \(StorageBenchReport.number(evictedReopenMilliseconds)) ms")
        notes.append("closing Tessera after the puts (a checkpoint of all collections written since the last one, "
            + "under the engine lock) took \(StorageBenchReport.number(closeMilliseconds)) ms")
        notes.append("Tessera after the run: \(statistics.pageCount) pages, checkpoint generation \(statistics.checkpointGeneration)")
        let misses = [hot1, hot2, cold, evicted, hot1SQLite, hot2SQLite, coldSQLite, evictedSQLite]
            .map { Int($0.details["misses"] ?? 0) }.reduce(0, +)
        if misses > 0 { notes.append("WARNING: \(misses) gets of written keys found nothing") }
        notes.append("Tessera writers are tasks in one task group; SQLite writers are threads (its calls block), each with its own connection")
        machine.loadAverageAtEnd = MachineInfo.loadAverage()
        if let start = machine.loadAverageAtStart, let end = machine.loadAverageAtEnd {
            let busy = start >= 0.5 * Double(machine.cores)
            notes.append((busy ? "WARNING: the machine was busy with other work; figures are noisy. " : "")
                + "1-minute load average at the start \(String(format: "%.2f", start)), at the end \(String(format: "%.2f", end)) "
                + "(this run adds about 1 to it)")
        }

        return StorageBenchReport(
            command: command, machine: machine, secondsPerCase: seconds, rows: rows, goals: goals, notes: notes, cases: cases)
    }

    /// Closes the store (a checkpoint of everything still in memory) and opens it again,
    /// optionally evicting its files from the OS cache in between; returns the milliseconds
    /// the close and the reopen took.
    private func reopenStore(evict: Bool) throws -> (close: Double, reopen: Double) {
        let start = monotonicNanoseconds()
        try store?.close()
        store = nil  // releases the directory lock
        let closed = monotonicNanoseconds()
        if evict { RawDisk.evictFromPageCache(directory: tesseraPath) }
        let reopenStart = monotonicNanoseconds()
        store = try Store(path: tesseraPath)
        return (Double(closed - start) / 1e6, Double(monotonicNanoseconds() - reopenStart) / 1e6)
    }

    static func sizeText(_ bytes: Int) -> String { bytes % 1024 == 0 ? "\(bytes / 1024) KiB" : "\(bytes) B" }
}
