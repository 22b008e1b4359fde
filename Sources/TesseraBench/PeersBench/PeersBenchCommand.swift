import ArgumentParser
import BenchReports
import Client
import CommandSupport
import Foundation
import Keyspace
import LoadGeneration

struct PeersBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "Measure Tessera side by side with etcd, Redis and SQLite on this machine, and the machine's limits.",
        discussion: """
            Starts every server itself on 127.0.0.1 with its data under --data-dir, and
            drives them all with one load generator: the same clients, uniformly random
            keys, 100-byte values, warm-up and run length. Each client keeps one request
            in flight. Sections:
              physical    4 KiB append + fdatasync p50/p99, loopback TCP round trip,
                          sequential O_DIRECT write bandwidth (fio, else dd)
              single      durable puts on one node: Tessera (one-node server, and its
                          engine embedded), Redis (appendonly, appendfsync always),
                          SQLite (WAL, synchronous=FULL)
              replicated  durable puts, linearizable and eventual gets on 3 nodes:
                          a Tessera cluster and a 3-member etcd cluster
              tls         puts and linearizable gets on 3 nodes again, every link TLS 1.3
                          with certificates checked both ways (etcd: --cert-file,
                          --key-file, --trusted-ca-file, --client-cert-auth, and peer TLS)
            Runs repeat --repeats times, the systems taking turns, and the report gives
            min/median/max over repeats and the ratio Tessera/peer. Results go to
            --output as <date>.json, <date>.md and <date>.svg (with -quick for --quick).
            Needs etcd and redis-server on PATH; `benchmarks/run` installs them and
            builds this tool in release mode. Measure from a release build only.

            Examples:
              benchmarks/run --quick
              tessera-bench peers --sections replicated --clients 64 --repeats 3
            """
    )

    @Flag(help: "Under 5 minutes: 3 repeats of 1.5 s runs after 0.5 s of warm-up, 5,000 keys.")
    var quick = false

    @Option(help: ArgumentHelp("Times every run is repeated (default 5, or 3 with --quick).", valueName: "N"))
    var repeats: Int?

    @Option(help: ArgumentHelp("Measured seconds per run (default 5, or 1.5 with --quick).", valueName: "S"))
    var duration: Double?

    @Option(name: .customLong("warm-up"), help: ArgumentHelp("Unmeasured seconds before each run (default 1, or 0.5 with --quick).", valueName: "S"))
    var warmUp: Double?

    @Option(help: ArgumentHelp("Comma-separated counts of concurrent clients.", valueName: "list"))
    var clients = "1,16,64"

    @Option(help: ArgumentHelp("Comma-separated sections to run: single, replicated, tls.", valueName: "list"))
    var sections = "single,replicated,tls"

    @Option(help: ArgumentHelp("Distinct keys (default 10,000, or 5,000 with --quick).", valueName: "N"))
    var keys: Int?

    @Option(name: .customLong("value-bytes"), help: "Bytes per value put.")
    var valueBytes = 100

    @Option(name: .customLong("etcd-connections"), help: ArgumentHelp("gRPC connections to each etcd member.", valueName: "N"))
    var etcdConnections = 2

    @Option(name: .customLong("data-dir"), help: "Folder for every system's data; emptied first, removed after.")
    var dataDirectory = ".tessera/bench-peers"

    @Option(help: "Folder the results are written to.")
    var output = "benchmarks/results"

    @Flag(name: .customLong("keep-data"), help: "Keep --data-dir (data and server logs) after the run.")
    var keepData = false

    var clientCounts: [Int] { clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    var sectionList: [String] { sections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    var repeatCount: Int { repeats ?? (quick ? 3 : 5) }
    var seconds: Double { duration ?? (quick ? 1.5 : 5) }
    var warmUpSeconds: Double { warmUp ?? (quick ? 0.5 : 1) }
    var keyCount: Int { keys ?? (quick ? 5_000 : 10_000) }

    func validate() throws {
        let parts = clients.split(separator: ",", omittingEmptySubsequences: false)
        guard !parts.isEmpty, clientCounts.count == parts.count, clientCounts.allSatisfy({ (1...1024).contains($0) }) else {
            throw ValidationError("--clients takes a comma-separated list of counts from 1 to 1024, such as 1,16,64")
        }
        guard !sectionList.isEmpty, sectionList.allSatisfy({ ["single", "replicated", "tls"].contains($0) }) else {
            throw ValidationError("--sections takes single, replicated and tls, comma-separated")
        }
        guard (1...100).contains(repeatCount) else { throw ValidationError("--repeats must be 1 to 100") }
        guard seconds > 0 && seconds <= 600 else { throw ValidationError("--duration must be more than 0 and at most 600 seconds") }
        guard warmUpSeconds >= 0 && warmUpSeconds <= 600 else { throw ValidationError("--warm-up must be 0 to 600 seconds") }
        guard (1...1_000_000).contains(keyCount) else { throw ValidationError("--keys must be 1 to 1000000") }
        guard (1...(64 << 10)).contains(valueBytes) else { throw ValidationError("--value-bytes must be 1 to 65536") }
        guard (1...64).contains(etcdConnections) else { throw ValidationError("--etcd-connections must be 1 to 64") }
    }

    func run() async throws {
        warnIfDebugBuild()
        let root = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        try refuseForeignDataDirectory(root)  // bad input first, before looking for the peers
        let executables = try findPeers()
        let started = Date()
        let startedNanoseconds = monotonicNanoseconds()
        try prepareDataDirectory(root)
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw commandFailure("cannot create \(output): \(error.localizedDescription)", status: ExitStatus.ioError)
        }

        let runner = PeersBenchRunner(
            settings: PeerBenchResults.Settings(
                repeats: repeatCount, warmUpSeconds: warmUpSeconds, secondsPerRun: seconds, clients: clientCounts,
                valueBytes: valueBytes, keys: keyCount, keyDistribution: "uniform random over \(keyCount) keys k0…k\(keyCount - 1)"),
            sections: sectionList, root: root, executables: executables, etcdConnections: etcdConnections)
        let outcome: PeersBenchRunner.Outcome
        do {
            outcome = try await runner.run()
        } catch {
            runner.progress.finish()
            if !keepData { try? FileManager.default.removeItem(atPath: root) }
            if let exit = error as? ExitCode { throw exit }
            throw commandFailure("\(error)\n(server logs are in \(root) with --keep-data)", status: ExitStatus.unavailable)
        }
        runner.progress.finish()

        let results = PeerBenchResults(
            startedAt: ISO8601DateFormatter().string(from: started), mode: quick ? "quick" : "full",
            command: reproduceCommand, machine: describeMachine(root: root, executables: executables),
            settings: runner.settings, systems: outcome.systems, physical: outcome.physical, runs: outcome.runs,
            comparisons: outcome.comparisons, totalSeconds: Double(monotonicNanoseconds() - startedNanoseconds) / 1e9,
            notes: outcome.notes)
        let paths = try write(results, started: started)
        if !keepData { try? FileManager.default.removeItem(atPath: root) }
        writeStandardOutput(PeerBenchReport.terminalSummary(results))
        writeStandardOutput("\nwrote \(paths.joined(separator: ", "))\n")
    }

    /// Marks a data folder as this command's, so that it empties and removes only its own.
    static let dataMarker = ".tessera-bench-peers"

    /// An empty or missing folder becomes the run's; one left by an earlier run is
    /// emptied; any other folder with files in it is refused, never deleted.
    private func prepareDataDirectory(_ root: String) throws {
        try refuseForeignDataDirectory(root)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        if !files.isEmpty { try? FileManager.default.removeItem(atPath: root) }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try Data("tessera-bench peers\n".utf8).write(to: URL(fileURLWithPath: root + "/" + Self.dataMarker))
        } catch {
            throw commandFailure("cannot create \(root): \(error.localizedDescription)", status: ExitStatus.ioError)
        }
    }

    private func refuseForeignDataDirectory(_ root: String) throws {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        guard files.isEmpty || files.contains(Self.dataMarker) else {
            throw commandFailure(
                "--data-dir \(root) holds files that tessera-bench peers did not make; it deletes its data folder afterwards, so give it an empty or new one",
                status: ExitStatus.badInput)
        }
    }

    struct Executables {
        var etcd: String?
        var redis: String?
    }

    /// The peers' servers, when their sections are asked for.
    private func findPeers() throws -> Executables {
        var found = Executables()
        var missing: [String] = []
        if sectionList.contains("replicated") || sectionList.contains("tls") {
            found.etcd = executableOnPath("etcd")
            if found.etcd == nil { missing.append("etcd (Debian: apt-get install etcd-server etcd-client)") }
        }
        if sectionList.contains("single") {
            found.redis = executableOnPath("redis-server")
            if found.redis == nil { missing.append("redis-server (Debian: apt-get install redis-server)") }
        }
        guard missing.isEmpty else {
            throw commandFailure(
                "not on PATH: \(missing.joined(separator: "; ")). `benchmarks/run` installs them.", status: ExitStatus.unavailable)
        }
        return found
    }

    private var reproduceCommand: String {
        var command = "benchmarks/run" + (quick ? " --quick" : "")
        if let repeats { command += " --repeats \(repeats)" }
        if let duration { command += " --duration \(duration)" }
        if let warmUp { command += " --warm-up \(warmUp)" }
        if clients != "1,16,64" { command += " --clients \(clients)" }
        if sections != "single,replicated,tls" { command += " --sections \(sections)" }
        if let keys { command += " --keys \(keys)" }
        if valueBytes != 100 { command += " --value-bytes \(valueBytes)" }
        if etcdConnections != 2 { command += " --etcd-connections \(etcdConnections)" }
        return command
    }

    private func describeMachine(root: String, executables: Executables) -> PeerBenchResults.MachineDescription {
        let info = MachineInfo.describe(directory: root, sqliteVersion: SQLiteConnection.libraryVersion)
        var versions = ["sqlite": info.sqliteVersion, "tessera": "\(info.build) build" + (gitRevision().map { " of \($0)" } ?? "")]
        if let etcd = executables.etcd, let text = outputOf(etcd, ["--version"]) {
            versions["etcd"] = text.split(separator: "\n").first.map(String.init) ?? text
        }
        if let redis = executables.redis, let text = outputOf(redis, ["--version"]) {
            versions["redis"] = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Double($0) }.map { $0 / 1_048_576 } ?? 0
        return PeerBenchResults.MachineDescription(
            cpu: info.cpu, cores: info.cores, memoryGiB: (memory * 10).rounded() / 10, kernel: info.kernel,
            dataDisk: "\(info.filesystem) on \(info.device)", versions: versions)
    }

    private func gitRevision() -> String? {
        guard let git = executableOnPath("git"), let text = outputOf(git, ["rev-parse", "--short", "HEAD"]) else { return nil }
        let revision = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return revision.isEmpty || revision.contains(" ") ? nil : revision
    }

    /// Writes <date>[-quick].json, .md and .svg into --output.
    private func write(_ results: PeerBenchResults, started: Date) throws -> [String] {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let base = formatter.string(from: started) + (quick ? "-quick" : "")
        let files = [
            (base + ".json", PeerBenchReport.json(results)),
            (base + ".md", PeerBenchReport.markdown(results, chartFileName: base + ".svg")),
            (base + ".svg", PeerBenchReport.svg(results)),
        ]
        var paths: [String] = []
        for (name, text) in files {
            let path = output + "/" + name
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw commandFailure("cannot write \(path): \(error.localizedDescription)", status: ExitStatus.ioError)
            }
            paths.append(path)
        }
        return paths
    }
}
