import ArgumentParser
import Client
import CommandSupport
import Foundation
import Keyspace

/// `tessera-bench queue`: what queues (lnr) move, on a running cluster (by default
/// the dev cluster of this folder), next to this disk's sequential write bandwidth,
/// the extent writer alone and Redis Streams, all in one run on one machine.
struct QueueBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Benchmark queues: append and read MB/s on a running cluster, the extent writer alone and Redis Streams, next to fio's sequential write bandwidth.",
        discussion: """
            Run it against a cluster built in release mode, e.g.:
              swift build -c release --scratch-path .build-release
              .build-release/release/tessera dev &            # waits for "ready"
              .build-release/release/tessera-bench queue --quick
            Each append phase has its producers append random payloads (1 MiB, then 4 KiB)
            to ONE new queue, bench-queue/queues/lnr/<phase>-<random>, for the phase's
            seconds; phases are 7 s apart so that the nodes' gathering of the previous
            queue into extents (after 5 s idle) does not overlap the next. The physical
            bound is fio's (else dd's) sequential direct write bandwidth in --disk-folder,
            divided by --replicas: the dev cluster's nodes share that disk. Goals: appends
            reach 50% of fio ÷ replicas; the extent writer alone reaches 80% of fio. The 4
            KiB queue of the most producers is then read back whole by 1 and by 4 readers,
            after waiting 7 s so that the reads come from extents. Redis Streams (XADD,
            appendfsync always) runs when redis-server is on PATH. Throttled appends count
            as errors: start the cluster with `tessera dev --account-write-units
            unlimited` to measure past the account rate limit.
            """)

    @OptionGroup var endpoint: EndpointOptions

    @Flag(help: "2 s per phase instead of 5 s; 64 MiB through the extent writer instead of 256 MiB.")
    var quick = false

    @Option(help: ArgumentHelp("Seconds per phase (default 5, or 2 with --quick).", valueName: "S"))
    var seconds: Double?

    @Option(help: ArgumentHelp("Comma-separated counts of concurrent producers (and Redis clients).", valueName: "list"))
    var producers = "1,16"

    @Option(name: .customLong("disk-folder"),
            help: ArgumentHelp("A folder on the cluster's disk, for fio and the extent writer (default ./.tessera when present, else .).",
                               valueName: "dir"))
    var diskFolder: String?

    @Option(help: "Replicas each append is written to; the physical bound is fio's bandwidth divided by it.")
    var replicas = 3

    static let account = "bench-queue"
    /// Nodes gather a queue idle for 5 s into extents, looking every second.
    static let gatherWaitSeconds = 7.0

    var producerCounts: [Int] { producers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        let parts = producers.split(separator: ",", omittingEmptySubsequences: false)
        guard !parts.isEmpty, producerCounts.count == parts.count, producerCounts.allSatisfy({ (1...1024).contains($0) }) else {
            throw ValidationError("--producers takes a comma-separated list of counts from 1 to 1024, such as 1,16")
        }
        guard (1...16).contains(replicas) else { throw ValidationError("--replicas must be 1 to 16") }
        if let seconds, !(seconds > 0 && seconds <= 3600) { throw ValidationError("--seconds must be more than 0 and at most 3600") }
    }

    func run() async throws {
        warnIfDebugBuild()
        let phaseSeconds = seconds ?? (quick ? 2 : 5)
        let counts = producerCounts
        let folder = diskFolder
            ?? (FileManager.default.fileExists(atPath: DevCluster.defaultDataDirectory) ? DevCluster.defaultDataDirectory : ".")
        let scratch = folder + "/.tessera-bench-queue-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        } catch {
            throw commandFailure("cannot make \(scratch): \(error.localizedDescription)", status: ExitStatus.ioError)
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let (endpoints, isDefault) = endpoint.resolved
        var options = try endpoint.clientOptions()
        options.deadline = .seconds(30)
        let client = try await ClusterConnection.connect(endpoints: endpoints, isDefault: isDefault, options: options)
        let progress = BenchProgress()
        var findings = Findings(folder: folder, phaseSeconds: phaseSeconds, replicas: replicas)
        do {
            // The disk alone first, while the cluster is idle.
            let fioMegabytes = quick ? 128 : 512
            progress.say("physical bound: \(fioMegabytes) MiB sequential direct write in \(scratch)")
            do {
                findings.bound = try PhysicalBound.directWriteBandwidth(directory: scratch, megabytes: fioMegabytes)
            } catch {
                findings.notes.append("physical bound not measured: \(error)")
            }
            let extentBytes = (quick ? 64 : 256) << 20
            for entryBytes in [1 << 20, 4 << 10] {
                progress.say("extent writer: \(extentBytes >> 20) MiB of \(Self.sizeText(entryBytes)) entries")
                do {
                    findings.extents.append(try QueueBenchPhases.extents(
                        folder: scratch + "/extents", totalBytes: extentBytes, payload: QueueBenchPhases.randomBytes(entryBytes)))
                } catch {
                    findings.notes.append("extent writer, \(Self.sizeText(entryBytes)) entries: \(error)")
                }
            }

            // Appends: one queue per phase, all producers on it.
            var readTarget: Key?
            for payloadBytes in [1 << 20, 4 << 10] {
                let payload = QueueBenchPhases.randomBytes(payloadBytes)
                for count in counts {
                    if !findings.appends.isEmpty {
                        progress.say("waiting \(Int(Self.gatherWaitSeconds)) s for the nodes to gather the last queue into extents")
                        try await Task.sleep(for: .seconds(Self.gatherWaitSeconds))
                    }
                    let label = "\(Self.sizeText(payloadBytes)) × \(count) producer\(count == 1 ? "" : "s")"
                    let name = "\(payloadBytes >> 10)KiB-\(count)p-\(UInt32.random(in: 0...UInt32.max))"
                    let queue = try Key(account: Self.account, resource: "queues", type: .lnr, primaryKey: name)
                    progress.say("append \(label), one queue, \(phaseSeconds) s")
                    let result = await QueueBenchPhases.timed(seconds: phaseSeconds, callers: count) { _ in
                        _ = try await client.append(queue, payload: payload)
                        return payload.count
                    }
                    findings.appends.append((label: label, payloadBytes: payloadBytes, producers: count, result: result))
                    if payloadBytes == 4 << 10 && count == counts.max() {
                        readTarget = queue
                        findings.readLabel = label
                    }
                }
            }

            // Reads of the 4 KiB queue with the most producers, once gathered into extents.
            if let queue = readTarget {
                progress.say("waiting \(Int(Self.gatherWaitSeconds)) s so that the queue's entries are read from extents")
                try await Task.sleep(for: .seconds(Self.gatherWaitSeconds))
                do {
                    let probe = try await client.readQueue(queue, from: nil, maximum: 1)
                    let first = probe.firstAvailable, last = probe.lastSequence
                    if last >= first && last > 0 {
                        for readers in [1, 4] {
                            progress.say("read \(last - first + 1) entries with \(readers) reader\(readers == 1 ? "" : "s")")
                            let result = await QueueBenchPhases.readAll(client: client, queue: queue, first: first, last: last, readers: readers)
                            findings.reads.append((readers: readers, result: result))
                        }
                    }
                } catch {
                    findings.notes.append("cluster reads: \(error)")
                }
            }
            progress.finish()
            await client.close()
        } catch {
            progress.finish()
            await client.close()
            throw ClusterConnection.failure(error, write: true)
        }

        let redis = await QueueBenchPhases.redisStreams(
            folder: scratch + "/redis", seconds: phaseSeconds, clientCounts: counts,
            payload: QueueBenchPhases.randomBytes(4 << 10), progress: progress)
        progress.finish()
        findings.redis = redis.results
        if let note = redis.note { findings.notes.append(note) }
        writeStandardOutput(findings.text())
    }

    static func sizeText(_ bytes: Int) -> String { bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB" }

    /// Everything measured, and the report made of it.
    struct Findings {
        let folder: String
        let phaseSeconds: Double
        let replicas: Int
        var bound: (megabytesPerSecond: Double, tool: String)?
        var extents: [ExtentBenchResult] = []
        var appends: [(label: String, payloadBytes: Int, producers: Int, result: QueuePhaseResult)] = []
        var readLabel = ""
        var reads: [(readers: Int, result: QueuePhaseResult)] = []
        var redis: [Int: QueuePhaseResult] = [:]
        var notes: [String] = []

        static func decimal(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        static func percent(_ ratio: Double?) -> String { ratio.map { String(format: "%.0f%%", $0 * 100) } ?? "—" }
        static func goal(_ ratio: Double?, _ target: Double) -> String { ratio.map { $0 >= target ? "met" : "missed" } ?? "—" }

        func text() -> String {
            let boundPerReplica = bound.map { $0.megabytesPerSecond / Double(replicas) }
            var out = "## Queues (lnr): \(Self.decimal(phaseSeconds, 0)) s per phase, one queue per phase\n\n"
            if let bound, let boundPerReplica {
                out += "Physical bound: \(Self.decimal(bound.megabytesPerSecond)) MB/s sequential direct write in \(folder) (\(bound.tool)); "
                out += "÷ \(replicas) replicas (the dev cluster's nodes share this disk) = \(Self.decimal(boundPerReplica)) MB/s.\n\n"
            } else {
                out += "Physical bound: not measured (see the notes).\n\n"
            }
            out += "| append to one queue | MB/s | appends/s | p50 ms | p99 ms | errors | ÷ (fio ÷ \(replicas)) | goal ≥ 50% of fio ÷ replicas |\n"
            out += "|---|---|---|---|---|---|---|---|\n"
            for row in appends {
                let ratio = boundPerReplica.map { row.result.megabytesPerSecond / $0 }
                out += "| \(row.label) | \(Self.decimal(row.result.megabytesPerSecond)) | \(Self.decimal(row.result.operationsPerSecond, 0)) "
                out += "| \(Self.decimal(row.result.latencyMilliseconds(percentile: 0.5), 2)) | \(Self.decimal(row.result.latencyMilliseconds(percentile: 0.99), 2)) "
                out += "| \(row.result.tally.errors) | \(Self.percent(ratio)) | \(Self.goal(ratio, 0.5)) |\n"
            }
            out += "\n| extent writer alone, same disk | write MB/s (fsync per 32 MiB extent) | ÷ fio | goal ≥ 80% | read MB/s (4 MiB pages, just written: page cache) |\n"
            out += "|---|---|---|---|---|\n"
            for extent in extents {
                let ratio = bound.map { extent.writeMegabytesPerSecond / $0.megabytesPerSecond }
                out += "| \(extent.totalBytes >> 20) MiB of \(QueueBenchCommand.sizeText(extent.entryBytes)) entries, \(extent.extents) extents "
                out += "| \(Self.decimal(extent.writeMegabytesPerSecond)) | \(Self.percent(ratio)) | \(Self.goal(ratio, 0.8)) "
                out += "| \(Self.decimal(extent.readMegabytesPerSecond)) |\n"
            }
            if let entries = reads.first?.result.tally.operations {
                out += "\nCluster reads of the \(readLabel) queue (\(entries) entries), pages of up to 10,000 entries, "
                out += "after waiting \(Self.decimal(QueueBenchCommand.gatherWaitSeconds, 0)) s so that they come from extents:\n\n"
                out += "| readers | MB/s | entries/s | page p50 ms | errors |\n|---|---|---|---|---|\n"
                for read in reads {
                    let who = read.readers == 1 ? "1 reader" : String(read.readers) + " readers, disjoint ranges"
                    out += "| \(who) "
                    out += "| \(Self.decimal(read.result.megabytesPerSecond)) | \(Self.decimal(read.result.operationsPerSecond, 0)) "
                    out += "| \(Self.decimal(read.result.latencyMilliseconds(percentile: 0.5), 2)) | \(read.result.tally.errors) |\n"
                }
            }
            if !redis.isEmpty {
                out += "\n| Redis Streams, XADD of 4 KiB, appendfsync always | MB/s | XADD/s | p50 ms | p99 ms | errors | Tessera 4 KiB ÷ Redis |\n"
                out += "|---|---|---|---|---|---|---|\n"
                for count in redis.keys.sorted() {
                    guard let result = redis[count] else { continue }
                    let tessera = appends.first { $0.payloadBytes == 4 << 10 && $0.producers == count }
                    let ratio = tessera.map { $0.result.megabytesPerSecond / max(result.megabytesPerSecond, 1e-9) }
                    out += "| \(count) client\(count == 1 ? "" : "s") | \(Self.decimal(result.megabytesPerSecond)) "
                    out += "| \(Self.decimal(result.operationsPerSecond, 0)) | \(Self.decimal(result.latencyMilliseconds(percentile: 0.5), 2)) "
                    out += "| \(Self.decimal(result.latencyMilliseconds(percentile: 0.99), 2)) | \(result.tally.errors) "
                    out += "| \(ratio.map { Self.decimal($0, 2) + "×" } ?? "—") |\n"
                }
            }
            var problems = notes
            for row in appends where row.result.tally.errors > 0 {
                problems.append("append \(row.label): \(row.result.tally.errors) errors, the first: \(row.result.tally.firstError ?? "?")")
            }
            for read in reads where read.result.tally.errors > 0 {
                problems.append("\(read.readers) reader(s): stopped on error: \(read.result.tally.firstError ?? "?")")
            }
            for (count, result) in redis.sorted(by: { $0.key < $1.key }) where result.tally.errors > 0 {
                problems.append("Redis, \(count) clients: \(result.tally.errors) errors, the first: \(result.tally.firstError ?? "?")")
            }
            if !problems.isEmpty { out += "\n" + problems.map { "note: \($0)\n" }.joined() }
            return out
        }
    }
}
