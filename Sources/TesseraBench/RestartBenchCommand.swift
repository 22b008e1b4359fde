import ArgumentParser
import Client
import CommandSupport
import Foundation
import Keyspace
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `tessera-bench restart`: what a node's memory costs per GB of data, and how
/// long a full restart takes to serve again, with idle and with contended cores.
struct RestartBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Load a 3-node cluster, then measure resident memory per GB and restart-to-serving time.",
        discussion: """
            Starts three nodes of the `tessera` beside this executable in a folder of its
            own, writes --data-mib of values (every node holds all of it: three replicas on
            three nodes), and reports each node's resident memory per GB of data. It then
            stops the cluster (SIGTERM), restarts it, and times how long until a strong
            read of every key in a sample succeeds; once with the cores idle, once with
            --busy-loops processes spinning on them. Peak resident memory during each
            restart is reported too.
              .build-release/release/tessera-bench restart --data-mib 1024
            """
    )

    @Option(name: .customLong("data-mib"), help: "MiB of values to write.")
    var dataMiB = 1024

    @Option(name: .customLong("value-bytes"), help: "Bytes per value.")
    var valueBytes = 65_536

    @Option(name: .customLong("busy-loops"), help: "Spinning processes during the contended restart (default: twice the cores).")
    var busyLoops: Int?

    @Option(name: .customLong("dir"), help: "Folder for the cluster (default: a new temporary one, removed afterwards).")
    var directory: String?

    @Flag(help: "Print the results as one JSON object.")
    var json = false

    func validate() throws {
        guard (1...65_536).contains(dataMiB) else { throw ValidationError("--data-mib must be 1 to 65536") }
        guard (1...(384 << 10)).contains(valueBytes) else { throw ValidationError("--value-bytes must be 1 to 393216") }
        if let busyLoops, !(0...256).contains(busyLoops) { throw ValidationError("--busy-loops must be 0 to 256") }
    }

    struct Restart: Encodable {
        var busyLoops: Int
        /// How long the SIGTERM before it took (a clean stop checkpoints the store).
        var secondsToStop: Double
        var secondsToListen: Double
        var secondsToServe: Double
        var peakResidentMiB: [String: Int]
    }

    struct Report: Encodable {
        var dataMiB: Int
        var valueBytes: Int
        var keys: Int
        var loadSeconds: Double
        var residentMiB: [String: Int]
        var residentPerGiBOfData: [String: Double]
        var diskMiB: [String: Int]
        var restarts: [Restart]
    }

    func run() async throws {
        warnIfDebugBuild()
        try NodeSupervisor.requireExecutable()
        let progress = BenchProgress()
        let owned = directory == nil
        let root = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("tessera-bench-restart-\(getpid())").path
        defer { if owned { try? FileManager.default.removeItem(atPath: root) } }
        let cluster = DevCluster(dataDirectory: root)
        let members = try cluster.create(ports: freeLoopbackPorts(3))
        let supervisor = try NodeSupervisor(cluster: cluster, members: members, cellDepth: 12, replicas: 3, logLevel: "warning",
                                            serveArguments: ["--account-write-units", "unlimited", "--account-read-units", "unlimited"],
                                            insecurePlaintext: true)
        let endpoints = members.map(\.address)
        let keyCount = max(1, (dataMiB << 20) / valueBytes)
        let keys = (0..<keyCount).map { try! Key(account: "bench", resource: "restart", type: .rnd, primaryKey: "k\($0)") }

        try await supervisor.start()
        var report = Report(dataMiB: dataMiB, valueBytes: valueBytes, keys: keyCount, loadSeconds: 0, residentMiB: [:],
                            residentPerGiBOfData: [:], diskMiB: [:], restarts: [])
        do {
            guard await supervisor.waitUntilListening(timeout: .seconds(30)) else { throw BenchFailure("the nodes did not listen within 30 s") }
            let loadStart = ContinuousClock.now
            try await withBenchClient(endpoints) { client in
                let warm = await ClusterBenchCommand.warmUp(client: client, keys: keys, seconds: 120, progress: progress)
                guard warm.warmed == warm.cells else { throw BenchFailure("only \(warm.warmed) of \(warm.cells) cells elected a leader") }
                let written = Counter()
                let failures = Counter()
                let value = [UInt8](repeating: 0x5A, count: valueBytes)
                await inParallel(keyCount, workers: 16) { index in
                    do {
                        _ = try await client.put(keys[index], value: value)
                        let done = written.increment()
                        if done % 500 == 0 { progress.say("loaded \((done * valueBytes) >> 20) of \(dataMiB) MiB") }
                    } catch {
                        _ = failures.increment()
                    }
                }
                guard failures.value == 0 else { throw BenchFailure("\(failures.value) of \(keyCount) puts failed while loading") }
            }
            report.loadSeconds = (ContinuousClock.now - loadStart).seconds
            for (id, pid) in supervisor.runningProcessIDs {
                let resident = Self.residentBytes(pid) ?? 0
                report.residentMiB[id] = resident >> 20
                report.residentPerGiBOfData[id] = (Double(resident) / Double(dataMiB << 20) * 100).rounded() / 100
                report.diskMiB[id] = Self.folderBytes(cluster.nodeFolder(id)) >> 20
            }
            let sample = Array(keys.shuffled().prefix(256))
            for loops in [0, busyLoops ?? 2 * ProcessInfo.processInfo.activeProcessorCount] {
                progress.say("restarting with \(loops) busy loops")
                let stopping = ContinuousClock.now
                guard await supervisor.stop(grace: .seconds(300)) else { throw BenchFailure("a node did not stop within 300 s of SIGTERM") }
                let stopSeconds = (ContinuousClock.now - stopping).seconds
                let spinners = (0..<loops).compactMap { _ in Self.spin() }
                defer { for spinner in spinners { kill(spinner.processIdentifier, SIGKILL); spinner.waitUntilExit() } }
                let started = ContinuousClock.now
                try await supervisor.start()
                let peak = Mutex<[String: Int]>([:])
                let sampler = Task {
                    while !Task.isCancelled {
                        for (id, pid) in supervisor.runningProcessIDs {
                            let resident = Self.residentBytes(pid) ?? 0
                            peak.withLock { $0[id] = max($0[id] ?? 0, resident >> 20) }
                        }
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
                defer { sampler.cancel() }
                guard await supervisor.waitUntilListening(timeout: .seconds(120)) else { throw BenchFailure("the nodes did not listen within 120 s") }
                let listening = (ContinuousClock.now - started).seconds
                try await withBenchClient(endpoints) { client in
                    await inParallel(sample.count, workers: 16) { index in
                        while (try? await client.get(sample[index])) == nil, ContinuousClock.now - started < .seconds(600) {}
                    }
                }
                sampler.cancel()
                report.restarts.append(Restart(busyLoops: loops, secondsToStop: stopSeconds, secondsToListen: listening,
                                               secondsToServe: (ContinuousClock.now - started).seconds,
                                               peakResidentMiB: peak.withLock { $0 }))
            }
        } catch {
            _ = await supervisor.stop()
            progress.finish()
            throw commandFailure("\(error) (logs in \(cluster.folder))", status: ExitStatus.unavailable)
        }
        _ = await supervisor.stop(grace: .seconds(300))
        progress.finish()
        print(json ? encodeJSON(report) : Self.text(report))
    }

    static func text(_ report: Report) -> String {
        var lines = ["restart benchmark: \(report.dataMiB) MiB of \(report.valueBytes)-byte values (\(report.keys) keys) on 3 nodes, loaded in \(String(format: "%.1f", report.loadSeconds)) s"]
        for id in report.residentMiB.keys.sorted() {
            lines.append("  \(id): resident \(report.residentMiB[id]!) MiB = \(report.residentPerGiBOfData[id]!) × the data; disk \(report.diskMiB[id]!) MiB")
        }
        for restart in report.restarts {
            let peaks = restart.peakResidentMiB.keys.sorted().map { "\($0) \(restart.peakResidentMiB[$0]!) MiB" }.joined(separator: ", ")
            lines.append(String(format: "  stopped in %.1f s; restart with %d busy loops: listening after %.1f s, serving a strong read of 256 sampled keys after %.1f s; peak resident %@",
                                restart.secondsToStop, restart.busyLoops, restart.secondsToListen, restart.secondsToServe, peaks))
        }
        lines.append("command: tessera-bench restart --data-mib \(report.dataMiB) --value-bytes \(report.valueBytes)")
        return lines.joined(separator: "\n")
    }

    static func residentBytes(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kibibytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kibibytes * 1024
    }

    static func folderBytes(_ path: String) -> Int {
        guard let files = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        for case let file as String in files {
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + file)[.size] as? Int) ?? 0
            total += size ?? 0
        }
        return total
    }

    /// A process that spins on a core until killed, or until this one is gone
    /// (a benchmark stopped by a signal leaves no spinner behind).
    static func spin() -> Process? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "parent=\(getpid()); while kill -0 $parent 2>/dev/null; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; done"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        return (try? process.run()) == nil ? nil : process
    }
}

/// Opens a client, runs `body`, and closes it.
func withBenchClient<T>(_ endpoints: [String], _ body: (TesseraClient) async throws -> T) async throws -> T {
    var options = ClientOptions()
    options.deadline = .seconds(30)
    let client = try await TesseraClient(endpoints: endpoints, options: options)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

/// Runs `body(index)` for each index on `workers` concurrent tasks.
func inParallel(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for worker in 0..<min(workers, max(count, 1)) {
            group.addTask {
                var index = worker
                while index < count {
                    await body(index)
                    index += workers
                }
            }
        }
    }
}
