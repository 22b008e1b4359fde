import ArgumentParser
import Client
import CommandSupport
import Foundation
import Keyspace
import LoadGeneration
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct ClusterBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Measure puts and gets against a running cluster, next to this machine's physical bound.",
        discussion: """
            First measures what no write can beat here: the p50 of a 4 KiB append +
            fdatasync on a file in the current folder (200 samples) and the p50 of a
            1-byte TCP round trip over 127.0.0.1 (2,000 samples). A cell elects its leader
            on first use, so next one strong read per cell the keys fall in (16 at a time,
            at most --warm-up seconds) gets that out of the way. Then, for each --clients
            count C, C concurrent tasks sharing one client do puts of --value-bytes values
            to random keys among --keys (bench/bench-load/rnd/k<N>) for --duration seconds,
            then strong gets, then eventual gets; each phase reports ops/s and p50/p99
            latency. Progress goes to standard error. It writes to the cluster: run it
            against a test cluster such as `tessera dev`, from a release build.

            Examples:
              tessera dev &                     # or in another terminal
              tessera-bench cluster --quick
              tessera-bench cluster --endpoint 10.0.0.5:7101 --clients 1,8,128 --json
            """
    )

    @OptionGroup var endpoint: EndpointOptions

    @Flag(help: "2 s per phase instead of 5 s.")
    var quick = false

    @Option(help: ArgumentHelp("Seconds per phase (default 5, or 2 with --quick).", valueName: "S"))
    var duration: Double?

    @Option(help: ArgumentHelp("Comma-separated counts of concurrent clients; each runs every phase.", valueName: "list"))
    var clients = "1,16,64"

    @Option(name: .customLong("value-bytes"), help: "Bytes per value put.")
    var valueBytes = 100

    @Option(help: "Distinct keys the phases pick from at random.")
    var keys = 10_000

    @Option(
        name: .customLong("warm-up"),
        help: ArgumentHelp(
            "At most this many seconds to give the keys' cells a leader before measuring (a cell elects one on first use); 0 skips it.",
            valueName: "S"))
    var warmUp: Double = 10

    @Flag(help: "Print JSON instead of text.")
    var json = false

    var clientCounts: [Int] { clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    var seconds: Double { duration ?? (quick ? 2 : 5) }

    func validate() throws {
        let parts = clients.split(separator: ",", omittingEmptySubsequences: false)
        guard !parts.isEmpty, clientCounts.count == parts.count, clientCounts.allSatisfy({ (1...4096).contains($0) }) else {
            throw ValidationError("--clients takes a comma-separated list of counts from 1 to 4096, such as 1,16,64")
        }
        guard warmUp >= 0 && warmUp <= 3600 else { throw ValidationError("--warm-up must be 0 to 3600 seconds") }
        if let duration, !(duration > 0 && duration <= 3600) { throw ValidationError("--duration must be more than 0 and at most 3600 seconds") }
        guard (0...(16 << 20)).contains(valueBytes) else { throw ValidationError("--value-bytes must be 0 to 16777216") }
        guard (1...10_000_000).contains(keys) else { throw ValidationError("--keys must be 1 to 10000000") }
    }

    func run() async throws {
        warnIfDebugBuild()
        let progress = BenchProgress()
        progress.say("physical bound: 200 × (4 KiB append + fdatasync) in \(FileManager.default.currentDirectoryPath)")
        let fsync: Double
        let roundTrip: Double
        do {
            fsync = try PhysicalBound.appendAndSyncP50(directory: FileManager.default.currentDirectoryPath, samples: 200)
            progress.say("physical bound: 2,000 loopback TCP round trips")
            roundTrip = try PhysicalBound.loopbackRoundTripP50(samples: 2_000)
        } catch let failure as BenchFailure {
            throw commandFailure("measuring the physical bound: \(failure.description)", status: ExitStatus.ioError)
        }

        let (endpoints, isDefault) = endpoint.resolved
        let options = try endpoint.clientOptions()
        let client = try await ClusterConnection.connect(endpoints: endpoints, isDefault: isDefault, options: options)
        let report: ClusterBenchReport
        do {
            report = try await measure(client: client, endpoints: endpoints, fsync: fsync, roundTrip: roundTrip, progress: progress)
        } catch {
            progress.finish()
            await client.close()
            throw ClusterConnection.failure(error, write: true)
        }
        progress.finish()
        await client.close()
        writeStandardOutput(json ? encodeJSON(report) + "\n" : report.text())
    }

    private func measure(
        client: TesseraClient, endpoints: [String], fsync: Double, roundTrip: Double, progress: BenchProgress
    ) async throws -> ClusterBenchReport {
        let info = client.cachedClusterInfo
        let keyList = try (0..<keys).map { try Key(parsing: "bench/bench-load/rnd/k\($0)") }
        let value = patternBytes(count: valueBytes, seed: 0xC1_05_7E)

        // The first request pays for connections and, on a fresh cluster, a cell's election.
        progress.say("warming up")
        let firstStart = monotonicNanoseconds()
        _ = try await client.put(keyList[0], value: value)
        let firstRequest = Double(monotonicNanoseconds() - firstStart) / 1e6
        let warm = await Self.warmUp(client: client, keys: keyList, seconds: warmUp, progress: progress)

        var phases: [ClusterBenchPhase] = []
        for count in clientCounts {
            for kind in ClusterBenchPhase.Kind.allCases {
                phases.append(await Self.runPhase(
                    kind, clients: count, seconds: seconds, client: client, keys: keyList, value: value, progress: progress))
            }
        }
        let single = phases.first { $0.clients == 1 && $0.phase == ClusterBenchPhase.Kind.put.rawValue }
        var reproduce = "tessera-bench cluster"
        if !endpoint.list.isEmpty { reproduce += " --endpoint " + endpoint.list.joined(separator: ",") }
        reproduce += " --duration \(Self.number(seconds)) --clients \(clientCounts.map(String.init).joined(separator: ","))"
        reproduce += " --value-bytes \(valueBytes) --keys \(keys) --warm-up \(Self.number(warmUp))"
        #if DEBUG
            let build = "debug"
        #else
            let build = "release"
        #endif
        return ClusterBenchReport(
            endpoints: endpoints, members: info.members.count, cells: info.cellDepth < 63 ? 1 << Int(info.cellDepth) : 0,
            replicas: Int(info.replicas), valueBytes: valueBytes, keys: keys, secondsPerPhase: seconds, build: build,
            fsyncP50Milliseconds: fsync, loopbackRoundTripP50Milliseconds: roundTrip,
            firstRequestMilliseconds: firstRequest, cellsUsed: warm.cells, cellsWarmed: warm.warmed,
            warmUpSeconds: warm.seconds, phases: phases,
            singleClientPutOverBound: single.flatMap { phase in phase.p50Milliseconds.map { $0 / (fsync + roundTrip) } },
            reproduce: reproduce)
    }

    /// One strong read in every cell the keys fall in, 16 at a time, for at most `seconds`:
    /// a cell elects its leader on first use, which the phases should not measure.
    static func warmUp(
        client: TesseraClient, keys: [Key], seconds: Double, progress: BenchProgress
    ) async -> (cells: Int, warmed: Int, seconds: Double) {
        var firstKeyOfCell: [CellID: Key] = [:]
        for key in keys where firstKeyOfCell[client.placement(of: key).cell] == nil {
            firstKeyOfCell[client.placement(of: key).cell] = key
        }
        let cellKeys = Array(firstKeyOfCell.values)
        guard seconds > 0 else { return (cellKeys.count, 0, 0) }
        let start = monotonicNanoseconds()
        let end = start + nanoseconds(seconds: seconds)
        let next = Counter()
        let warmed = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<min(16, cellKeys.count) {
                group.addTask {
                    while monotonicNanoseconds() < end {
                        let index = next.increment() - 1
                        guard index < cellKeys.count else { return }
                        do {
                            _ = try await client.get(cellKeys[index], consistency: .strong)
                            let done = warmed.increment()
                            if done % 16 == 0 || done == cellKeys.count {
                                progress.say("warm-up: \(done) of \(cellKeys.count) cells have a leader")
                            }
                        } catch {
                            // Counted as not warmed; the phases will show the errors if they persist.
                        }
                    }
                }
            }
        }
        return (cellKeys.count, warmed.value, Double(monotonicNanoseconds() - start) / 1e9)
    }

    /// `clients` tasks sharing `client`, each doing `kind` on random keys until the phase's time is up.
    static func runPhase(
        _ kind: ClusterBenchPhase.Kind, clients: Int, seconds: Double, client: TesseraClient, keys: [Key],
        value: [UInt8], progress: BenchProgress
    ) async -> ClusterBenchPhase {
        let label = "\(clients) client\(clients == 1 ? "" : "s"), \(kind.rawValue)"
        let start = monotonicNanoseconds()
        let end = start + nanoseconds(seconds: seconds)
        let ticker = Task {
            while !Task.isCancelled {
                let now = monotonicNanoseconds()
                let left = now >= end ? 0 : Int((Double(end - now) / 1e9).rounded(.up))
                progress.say("\(label): \(left) s left")
                try? await Task.sleep(for: .seconds(1))
            }
        }
        let results = await withTaskGroup(of: WorkerResult.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var result = WorkerResult()
                    var random = SystemRandomNumberGenerator()
                    result.latencies.reserveCapacity(4096)
                    while monotonicNanoseconds() < end {
                        let key = keys[Int.random(in: 0..<keys.count, using: &random)]
                        let began = monotonicNanoseconds()
                        do {
                            switch kind {
                            case .put:
                                _ = try await client.put(key, value: value)
                            case .strongGet:
                                if try await client.get(key, consistency: .strong) != nil { result.found += 1 }
                            case .eventualGet:
                                if try await client.get(key, consistency: .eventual) != nil { result.found += 1 }
                            }
                            result.latencies.append(monotonicNanoseconds() - began)
                        } catch {
                            result.errors += 1
                            if result.firstError == nil { result.firstError = "\(error)" }
                        }
                    }
                    return result
                }
            }
            var all = WorkerResult()
            for await result in group {
                all.latencies += result.latencies
                all.errors += result.errors
                all.found += result.found
                if all.firstError == nil { all.firstError = result.firstError }
            }
            return all
        }
        ticker.cancel()
        let elapsed = monotonicNanoseconds() - start
        let measurement = Measurement(operations: results.latencies.count, nanoseconds: elapsed,
                                      latencies: results.latencies.isEmpty ? nil : results.latencies)
        return ClusterBenchPhase(
            clients: clients, phase: kind.rawValue, operations: measurement.operations, errors: results.errors,
            seconds: measurement.seconds, opsPerSecond: measurement.perSecond,
            p50Milliseconds: measurement.p50Microseconds.map { $0 / 1e3 },
            p99Milliseconds: measurement.p99Microseconds.map { $0 / 1e3 },
            foundFraction: kind == .put || results.latencies.isEmpty ? nil : Double(results.found) / Double(results.latencies.count),
            firstError: results.firstError)
    }

    struct WorkerResult: Sendable {
        var latencies: [UInt64] = []
        var errors = 0
        var found = 0
        var firstError: String?
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// One phase: one operation at one concurrency.
struct ClusterBenchPhase: Codable, Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case put = "put"
        case strongGet = "get strong"
        case eventualGet = "get eventual"
    }

    var clients: Int
    var phase: String
    /// Operations that succeeded.
    var operations: Int
    var errors: Int
    var seconds: Double
    var opsPerSecond: Double
    var p50Milliseconds: Double?
    var p99Milliseconds: Double?
    /// For gets: the share that found an item (keys nobody put yet are absent).
    var foundFraction: Double?
    var firstError: String?
}

struct ClusterBenchReport: Codable, Sendable {
    var endpoints: [String]
    var members: Int
    var cells: Int
    var replicas: Int
    var valueBytes: Int
    var keys: Int
    var secondsPerPhase: Double
    var build: String
    var fsyncP50Milliseconds: Double
    var loopbackRoundTripP50Milliseconds: Double
    var firstRequestMilliseconds: Double
    /// Cells the keys fall in, and how many of them answered a read before the phases began.
    var cellsUsed: Int
    var cellsWarmed: Int
    var warmUpSeconds: Double
    var phases: [ClusterBenchPhase]
    /// Single-client put p50 ÷ (fsync p50 + loopback round trip p50).
    var singleClientPutOverBound: Double?
    var reproduce: String

    func text() -> String {
        func ms(_ value: Double?) -> String {
            guard let value else { return "-" }
            return value >= 100 ? String(format: "%.0f", value) : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
        }
        var out = "Tessera cluster benchmark (\(build) build): \(members) members at \(endpoints.joined(separator: ", ")), "
        out += "\(cells) cells, \(replicas) replicas per cell\n"
        out += "\(valueBytes) B values over \(keys) keys (bench/bench-load/rnd/k<N>), "
        out += "\(ClusterBenchCommand.number(secondsPerPhase)) s per phase, one shared client\n"
        out += "physical bound: fsync p50 = \(ms(fsyncP50Milliseconds)) ms (4 KiB append + fdatasync, 200 samples); "
        out += "loopback RTT p50 = \(String(format: "%.3f", loopbackRoundTripP50Milliseconds)) ms (1-byte TCP ping-pong, 2000 samples)\n"
        out += "first request: \(ms(firstRequestMilliseconds)) ms; warm-up: \(cellsWarmed) of \(cellsUsed) cells answered a strong read "
        out += "in \(String(format: "%.1f", warmUpSeconds)) s (a cell elects its leader on first use)\n\n"
        var rows = [["CLIENTS", "PHASE", "OPS/S", "P50 MS", "P99 MS", "FOUND", "ERRORS"]]
        for phase in phases {
            rows.append([
                "\(phase.clients)", phase.phase, String(format: "%.0f", phase.opsPerSecond), ms(phase.p50Milliseconds),
                ms(phase.p99Milliseconds), phase.foundFraction.map { String(format: "%.0f%%", $0 * 100) } ?? "-",
                "\(phase.errors)",
            ])
        }
        out += TextTable.render(rows, rightAligned: [0, 2, 3, 4, 5, 6])
        for phase in phases {
            if let error = phase.firstError { out += "  \(phase.clients) × \(phase.phase): \(phase.errors) errors, the first: \(error)\n" }
        }
        out += "\n"
        if let ratio = singleClientPutOverBound,
           let p50 = phases.first(where: { $0.clients == 1 && $0.phase == "put" })?.p50Milliseconds {
            out += "single-client put p50 = \(ms(p50)) ms = \(String(format: "%.2f", ratio)) × (fsync p50 + loopback RTT p50)\n"
        } else {
            out += "single-client put p50: not measured (add 1 to --clients)\n"
        }
        out += "reproduce: \(reproduce)\n"
        return out
    }
}

/// A shared count, safe from any task.
final class Counter: Sendable {
    private let count = Mutex(0)

    /// Adds one and returns the new count.
    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
    var value: Int { count.withLock { $0 } }
}

/// Progress on standard error: one line rewritten in place on a terminal, else a line per update.
final class BenchProgress: Sendable {
    let isTerminal = isatty(STDERR_FILENO) == 1

    func say(_ message: String) {
        if isTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(message)".utf8))
        } else {
            printToStandardError(message)
        }
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
