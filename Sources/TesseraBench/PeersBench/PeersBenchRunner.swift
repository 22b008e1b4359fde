import BenchReports
import Client
import CommandSupport
import EtcdDriver
import Foundation
import Keyspace
import LoadGeneration
import NIOSSL
import RedisDriver

/// Runs `tessera-bench peers`: physical limits, then each section with its
/// servers up, then stops them. Progress goes to standard error.
final class PeersBenchRunner: @unchecked Sendable {
    struct Outcome {
        var systems: [PeerBenchResults.SystemDescription] = []
        var physical: [PeerBenchResults.PhysicalSample] = []
        var runs: [PeerBenchResults.RunRecord] = []
        var comparisons: [PeerBenchResults.Comparison] = []
        var notes: [String] = []
    }

    let settings: PeerBenchResults.Settings
    let sections: [String]
    let root: String
    let executables: PeersBenchCommand.Executables
    let etcdConnections: Int
    let progress = BenchProgress()
    private var clock: PeersBenchClock
    private let value: [UInt8]
    private let replicatedOperations: [LoadOperation] = [.put, .get(.linearizable), .get(.eventual)]
    private let tlsOperations: [LoadOperation] = [.put, .get(.linearizable)]

    init(
        settings: PeerBenchResults.Settings, sections: [String], root: String, executables: PeersBenchCommand.Executables,
        etcdConnections: Int
    ) {
        self.settings = settings
        self.sections = sections
        self.root = root
        self.executables = executables
        self.etcdConnections = etcdConnections
        value = patternBytes(count: settings.valueBytes, seed: 0x9EE7)
        var runs = 0
        if sections.contains("single") { runs += 4 * settings.clients.count }
        if sections.contains("replicated") { runs += 2 * replicatedOperations.count * settings.clients.count }
        if sections.contains("tls") { runs += 2 * tlsOperations.count * settings.clients.count }
        clock = PeersBenchClock(
            totalRuns: runs * settings.repeats, plannedSecondsPerRun: settings.warmUpSeconds + settings.secondsPerRun + 0.2)
    }

    func run() async throws -> Outcome {
        var outcome = Outcome()
        outcome.notes = [
            "Every server and the load generator share this one machine; figures are relative to each other, not to production hardware.",
            "Each client keeps one request in flight; keys are uniform random; a run's first \(settings.warmUpSeconds) s are not measured.",
        ]
        try measurePhysicalLimits(into: &outcome)
        if sections.contains("single") { try await runSingleNode(into: &outcome) }
        if sections.contains("replicated") { try await runReplicated(into: &outcome) }
        if sections.contains("tls") { try await runTLS(into: &outcome) }
        return outcome
    }

    // MARK: - Physical limits

    private func measurePhysicalLimits(into outcome: inout Outcome) throws {
        let bandwidthMegabytes = settings.secondsPerRun < 3 ? 128 : 512
        for repeatIndex in 0..<settings.repeats {
            progress.say("physical limits \(repeatIndex + 1)/\(settings.repeats): fsync, loopback round trip, direct write bandwidth")
            let fsync = try PhysicalBound.appendAndSyncLatencies(directory: root, samples: 500)
            let loopback = try PhysicalBound.loopbackRoundTripLatencies(samples: 5_000)
            let bandwidth = try? PhysicalBound.directWriteBandwidth(directory: root, megabytes: bandwidthMegabytes)
            outcome.physical.append(PeerBenchResults.PhysicalSample(
                repeatIndex: repeatIndex,
                fsyncP50Milliseconds: PhysicalBound.percentileMilliseconds(fsync, 0.5),
                fsyncP99Milliseconds: PhysicalBound.percentileMilliseconds(fsync, 0.99),
                loopbackP50Milliseconds: PhysicalBound.percentileMilliseconds(loopback, 0.5),
                loopbackP99Milliseconds: PhysicalBound.percentileMilliseconds(loopback, 0.99),
                directWriteMegabytesPerSecond: bandwidth?.megabytesPerSecond, directWriteTool: bandwidth?.tool))
        }
    }

    // MARK: - Single node

    private func runSingleNode(into outcome: inout Outcome) async throws {
        progress.say("single node: starting a one-node Tessera server and Redis")
        let tessera = try await startTessera(nodes: 1, folder: root + "/tessera-1")
        var redisServer: RedisServer?
        var embedded: TesseraEmbeddedSystem?
        do {
            let redis = try RedisServer.start(executable: executables.redis!, folder: root + "/redis")
            redisServer = redis
            try await waitForRedis(redis)
            embedded = try TesseraEmbeddedSystem(path: root + "/tessera-embedded", keys: settings.keys)
            try FileManager.default.createDirectory(atPath: root + "/sqlite", withIntermediateDirectories: true)
            let sqlite = try SQLiteSystem(path: root + "/sqlite/bench.db")
            let redisSystem = RedisSystem(host: "127.0.0.1", port: redis.port)
            let systems: [(String, any LoadSystem)] = [
                ("tessera-1", tessera.system), ("redis", redisSystem), ("tessera-embedded", embedded!), ("sqlite", sqlite),
            ]
            outcome.systems += [
                .init(id: "tessera-1", label: "Tessera, 1 node", section: "single", interface: tessera.system.interface,
                      configuration: "one-node server, \(tessera.cells) cells of 1 replica; a put returns after its WAL record is fdatasynced (group commit)",
                      isTessera: true),
                .init(id: "redis", label: "Redis", section: "single", interface: redisSystem.interface,
                      configuration: "appendonly yes, appendfsync always (fsync before replying), no RDB snapshots", isTessera: false),
                .init(id: "tessera-embedded", label: "Tessera engine, embedded", section: "single", interface: embedded!.interface,
                      configuration: "the Store in the load generator's process; fdatasync per group commit", isTessera: true),
                .init(id: "sqlite", label: "SQLite", section: "single", interface: sqlite.interface,
                      configuration: "journal_mode=WAL, synchronous=FULL, one transaction per put, busy_timeout 10 s",
                      isTessera: false),
            ]
            outcome.comparisons += [
                .init(section: "single", tessera: "tessera-1", peer: "redis", operations: ["put"]),
                .init(section: "single", tessera: "tessera-1", peer: "sqlite", operations: ["put"]),
                .init(section: "single", tessera: "tessera-embedded", peer: "sqlite", operations: ["put"]),
            ]
            try await runPlan(section: "single", operations: [.put], systems: systems, into: &outcome) {
                try tessera.checkAlive()
                if !redis.process.isRunning {
                    throw BenchFailure("redis exited with status \(redis.process.exitStatus): \(redis.process.logTail())")
                }
            }
        } catch {
            await tessera.stop()
            if let redisServer { await redisServer.process.stop() }
            try? embedded?.close()
            throw error
        }
        progress.say("single node: stopping servers")
        await tessera.stop()
        if let redisServer { await redisServer.process.stop() }
        try? embedded?.close()
    }

    private func waitForRedis(_ redis: RedisServer) async throws {
        let system = RedisSystem(host: "127.0.0.1", port: redis.port)
        do {
            try await system.waitUntilReady(timeout: .seconds(20))
        } catch {
            throw BenchFailure("\(error): \(redis.process.logTail())")
        }
        let appendfsync = try await system.configValue("appendfsync")
        guard appendfsync == "always" else {
            throw BenchFailure("redis reports appendfsync \(appendfsync ?? "unset"), not always: its puts would not be durable")
        }
    }

    // MARK: - Replicated, plaintext and TLS

    /// One side of a replicated section: its systems' ids and descriptions.
    private struct ReplicatedSection {
        var name: String
        var operations: [LoadOperation]
        var tls: Bool
        var tesseraID: String
        var tesseraLabel: String
        var tesseraConfiguration: (Int) -> String
        var etcdID: String
        var etcdLabel: String
        var etcdConfiguration: String
    }

    /// Durable puts, linearizable and eventual gets on 3 Tessera nodes and 3 etcd members.
    private func runReplicated(into outcome: inout Outcome) async throws {
        try await runReplicated(ReplicatedSection(
            name: "replicated", operations: replicatedOperations, tls: false,
            tesseraID: "tessera-3", tesseraLabel: "Tessera, 3 nodes",
            tesseraConfiguration: { "\($0) cells of 3 replicas (Multi-Paxos), leaders spread over the nodes; a put returns after a quorum fdatasynced it; linearizable gets are leader reads under a lease, eventual gets read one replica" },
            etcdID: "etcd-3", etcdLabel: "etcd, 3 members",
            etcdConfiguration: "etcd defaults (fsync per raft batch, 100 ms heartbeat, 1 s election); puts go to the leader, gets round-robin over members; linearizable gets use ReadIndex, eventual gets are serializable ranges"),
            into: &outcome)
    }

    /// The puts and linearizable gets again, every link TLS 1.3 with
    /// certificates both ways: Tessera's own (`tessera dev`'s CA) and etcd's
    /// `--cert-file`/`--key-file`/`--trusted-ca-file`/`--client-cert-auth`
    /// on client and peer links alike.
    private func runTLS(into outcome: inout Outcome) async throws {
        try await runReplicated(ReplicatedSection(
            name: "tls", operations: tlsOperations, tls: true,
            tesseraID: "tessera-3-tls", tesseraLabel: "Tessera, 3 nodes, TLS",
            tesseraConfiguration: { "as tessera-3 (\($0) cells), every link (client and peer) TLS 1.3 with certificates of the cluster's CA, checked both ways" },
            etcdID: "etcd-3-tls", etcdLabel: "etcd, 3 members, TLS",
            etcdConfiguration: "as etcd-3, with --cert-file, --key-file, --trusted-ca-file and --client-cert-auth, and the same for peer links"),
            into: &outcome)
    }

    private func runReplicated(_ section: ReplicatedSection, into outcome: inout Outcome) async throws {
        let name = section.name
        progress.say("\(name): starting a 3-node Tessera cluster and a 3-member etcd cluster\(section.tls ? ", both over TLS" : "")")
        let tessera = try await startTessera(nodes: 3, folder: root + "/" + section.tesseraID, tls: section.tls)
        var etcdCluster: EtcdCluster?
        do {
            var context: NIOSSLContext?
            var files: EtcdTLSFiles?
            if section.tls {
                let made = try EtcdTLSFiles.make(in: root + "/" + section.etcdID + "-pki")
                files = made
                context = try EtcdTLS.clientContext(
                    certificateAuthority: made.certificateAuthority, certificate: made.clientCertificate, privateKey: made.clientKey)
            }
            let etcd = try EtcdCluster.start(executable: executables.etcd!, folder: root + "/" + section.etcdID, size: 3, tls: files)
            etcdCluster = etcd
            let etcdSystem = EtcdSystem(endpoints: etcd.clientEndpoints, connectionsPerEndpoint: etcdConnections, tls: context)
            try await waitForEtcd(etcd, system: etcdSystem)

            progress.say("\(name): preloading \(settings.keys) keys into Tessera")
            let tesseraFailures = try await LoadRun.preload(tessera.system, keys: settings.keys, value: value, clients: 64)
            progress.say("\(name): preloading \(settings.keys) keys into etcd")
            let etcdFailures = try await LoadRun.preload(etcdSystem, keys: settings.keys, value: value, clients: 64)
            if tesseraFailures + etcdFailures > 0 {
                outcome.notes.append("Preload (\(name)): \(tesseraFailures) Tessera and \(etcdFailures) etcd puts failed; gets of those keys find nothing.")
            }
            let tesseraInterface = tessera.system.interface + (section.tls ? ", TLS 1.3 with a client certificate" : "")
            outcome.systems += [
                .init(id: section.tesseraID, label: section.tesseraLabel, section: name, interface: tesseraInterface,
                      configuration: section.tesseraConfiguration(tessera.cells), isTessera: true),
                .init(id: section.etcdID, label: section.etcdLabel, section: name, interface: etcdSystem.interface,
                      configuration: section.etcdConfiguration, isTessera: false),
            ]
            outcome.comparisons.append(.init(
                section: name, tessera: section.tesseraID, peer: section.etcdID, operations: section.operations.map(\.label)))
            let systems: [(String, any LoadSystem)] = [(section.tesseraID, tessera.system), (section.etcdID, etcdSystem)]
            try await runPlan(section: name, operations: section.operations, systems: systems, into: &outcome) {
                try tessera.checkAlive()
                for member in etcd.members where !member.isRunning {
                    throw BenchFailure("\(member.name) exited with status \(member.exitStatus): \(member.logTail())")
                }
            }
        } catch {
            await tessera.stop()
            await etcdCluster?.stop()
            throw error
        }
        progress.say("\(name): stopping servers")
        await tessera.stop()
        await etcdCluster?.stop()
    }

    private func waitForEtcd(_ etcd: EtcdCluster, system: EtcdSystem) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                _ = try await system.findLeader()
                return
            } catch {
                if let dead = etcd.members.first(where: { !$0.isRunning }) {
                    throw BenchFailure("\(dead.name) exited with status \(dead.exitStatus): \(dead.logTail())")
                }
                guard ContinuousClock.now < deadline else { throw BenchFailure("etcd elected no leader within 30 s: \(error)") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    // MARK: - Runs

    private func runPlan(
        section: String, operations: [LoadOperation], systems: [(String, any LoadSystem)], into outcome: inout Outcome,
        checkServers: () throws -> Void
    ) async throws {
        let plan = PeersBenchPlan(
            repeats: settings.repeats, operations: operations, clients: settings.clients, systems: systems.map(\.0))
        let byID = Dictionary(uniqueKeysWithValues: systems)
        for step in plan.steps {
            try checkServers()
            progress.say(
                "[\(clock.runsDone + 1)/\(clock.totalRuns)] \(section) · repeat \(step.repeatIndex + 1)/\(settings.repeats) · "
                    + "\(step.operation.label) · \(step.clients) client\(step.clients == 1 ? "" : "s") · \(step.system) · "
                    + "about \(PeersBenchClock.describe(seconds: clock.secondsLeft)) left")
            let began = monotonicNanoseconds()
            let run = LoadRun(
                operation: step.operation, clients: step.clients, keys: settings.keys, value: value,
                warmUpSeconds: settings.warmUpSeconds, seconds: settings.secondsPerRun)
            let result = try await run.run(on: byID[step.system]!)
            clock.finished(runTaking: Double(monotonicNanoseconds() - began) / 1e9)
            outcome.runs.append(.init(
                repeatIndex: step.repeatIndex, section: section, operation: step.operation.label, system: step.system,
                clients: step.clients, result: result))
        }
    }

    // MARK: - Tessera servers

    struct TesseraServers {
        let supervisor: NodeSupervisor
        let client: TesseraClient
        let system: TesseraClusterSystem
        let cells: Int

        func checkAlive() throws {
            if let (id, status) = supervisor.exitedNodes.first {
                throw BenchFailure("Tessera \(id) exited with status \(status); see \(supervisor.cluster.logPath(id))")
            }
        }

        func stop() async {
            await client.close()
            _ = await supervisor.stop()
        }
    }

    /// Starts `nodes` Tessera nodes (this executable's `serve`) and gives every
    /// cell the keys fall in a leader, which a cell elects on first use.
    private func startTessera(nodes: Int, folder: String, tls: Bool = false) async throws -> TesseraServers {
        let cluster = DevCluster(dataDirectory: folder)
        let members = try cluster.create(ports: freeLoopbackPorts(nodes))
        let cellDepth = 12
        let supervisor = try NodeSupervisor(
            cluster: cluster, members: members, cellDepth: cellDepth, replicas: nodes >= 3 ? 3 : 1, logLevel: "warning",
            // Like for like: the peers run without TLS except in the tls section.
            insecurePlaintext: !tls)
        try await supervisor.start()
        do {
            guard await supervisor.waitUntilListening(timeout: .seconds(30)) else {
                throw BenchFailure("Tessera nodes did not listen within 30 s; see the logs in \(cluster.folder)")
            }
            var options = ClientOptions()
            options.tls = try supervisor.clientTLS()
            let client = try await TesseraClient(endpoints: members.map(\.address), options: options)
            let system = try TesseraClusterSystem(client: client, keys: settings.keys)
            let warm = await ClusterBenchCommand.warmUp(client: client, keys: system.keys, seconds: 120, progress: progress)
            guard warm.warmed == warm.cells else {
                await client.close()
                throw BenchFailure("only \(warm.warmed) of \(warm.cells) Tessera cells elected a leader within 120 s")
            }
            return TesseraServers(supervisor: supervisor, client: client, system: system, cells: 1 << cellDepth)
        } catch {
            _ = await supervisor.stop()
            throw error
        }
    }
}
