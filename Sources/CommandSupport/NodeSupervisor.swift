import Client
import Foundation
import Placement

/// Runs the dev cluster's nodes as child processes and stops them together.
public final class NodeSupervisor: @unchecked Sendable {
    public let cluster: DevCluster
    public let members: [Member]
    public let cellDepth: Int
    public let replicas: Int
    public let logLevel: String
    /// Event loops per node: the nodes share this machine's cores.
    public let shards: Int
    /// More `tessera serve` flags, the same for every node.
    public let serveArguments: [String]
    /// Plaintext links (`tessera dev --insecure-plaintext`); otherwise TLS with the dev CA's certificates.
    public let insecurePlaintext: Bool
    private var processes: [(member: Member, process: Process)] = []

    public init(cluster: DevCluster, members: [Member], cellDepth: Int, replicas: Int, logLevel: String,
                serveArguments: [String] = [], insecurePlaintext: Bool = false) throws {
        self.cluster = cluster
        self.serveArguments = serveArguments
        self.insecurePlaintext = insecurePlaintext
        if insecurePlaintext {
            // Clients must not offer TLS to it with credentials left from a run over TLS.
            FileManager.default.createFile(atPath: cluster.plaintextMarkerPath, contents: Data())
        } else {
            try? FileManager.default.removeItem(atPath: cluster.plaintextMarkerPath)
            try cluster.ensureCredentials(for: members)
        }
        shards = Self.shardsPerNode(nodes: members.count)
        self.members = members
        self.cellDepth = cellDepth
        self.replicas = replicas
        self.logLevel = logLevel
    }

    /// Nodes on one machine split its cores: a node with more event loops than
    /// its share only adds thread hops and context switches (measured: about
    /// 40% less CPU per replicated put with one loop per node than with one per
    /// core, three nodes on two cores).
    public static func shardsPerNode(nodes: Int) -> Int {
        max(1, ProcessInfo.processInfo.activeProcessorCount / max(nodes, 1))
    }

    /// The `tessera` executable the nodes run: this very one, or the `tessera` beside
    /// it (as `tessera-bench` finds it), so nodes run the same build as the command
    /// that started them.
    public static var executablePath: String {
        let current = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let url = URL(fileURLWithPath: current)
        if url.lastPathComponent == "tessera" { return current }
        return url.deletingLastPathComponent().appendingPathComponent("tessera").path
    }

    /// Fails with a clear message when the `tessera` executable the nodes need is missing.
    public static func requireExecutable() throws {
        guard FileManager.default.isExecutableFile(atPath: executablePath) else {
            throw commandFailure(
                "no tessera executable at \(executablePath): the nodes run it; build it with `swift build` (or -c release) first",
                status: ExitStatus.unavailable)
        }
    }

    /// Starts every node. A node folder still locked by a process of an earlier run
    /// (a node that is still stopping, or printing its crash report) is waited for,
    /// up to `lockWait`, rather than started into an exit 74.
    public func start(lockWait: Duration = .seconds(30)) async throws {
        try Self.requireExecutable()
        for member in members {
            let folder = cluster.nodeFolder(member.id)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try await DataDirectoryLock.waitUntilFree(folder, timeout: lockWait)
            if !FileManager.default.fileExists(atPath: cluster.logPath(member.id)) {
                _ = FileManager.default.createFile(atPath: cluster.logPath(member.id), contents: nil)
            }
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: cluster.logPath(member.id)))
            log.seekToEndOfFile()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.executablePath)
            process.arguments = [
                "serve", "--node-id", member.id, "--listen", member.address, "--members", cluster.membersPath,
                "--data-dir", folder, "--cell-depth", "\(cellDepth)", "--replicas", "\(replicas)",
                "--log-level", logLevel, "--shards", "\(shards)",
            ] + tlsArguments(member) + serveArguments
            process.standardOutput = log
            process.standardError = log
            try process.run()
            processes.append((member, process))
        }
    }

    private func tlsArguments(_ member: Member) -> [String] {
        guard !insecurePlaintext else { return ["--insecure-plaintext"] }
        let files = cluster.credentials.files(for: .member(member.id))
        return ["--tls-ca", files.certificateAuthority, "--tls-cert", files.certificate, "--tls-key", files.privateKey]
    }

    /// The credential clients of this cluster use (nil: plaintext).
    public func clientTLS() throws -> TLSCredentials? {
        guard !insecurePlaintext else { return nil }
        return try cluster.credentials.files(for: DevCluster.clientIdentity).load()
    }

    /// Polls each node's port until it accepts a connection.
    public func waitUntilListening(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var waiting = members.map(\.address)
        while !waiting.isEmpty && ContinuousClock.now < deadline {
            waiting.removeAll { NodeProbe.check($0, timeoutMilliseconds: 200) != .refused }
            if !waiting.isEmpty { try? await Task.sleep(for: .milliseconds(100)) }
        }
        return waiting.isEmpty
    }

    /// Waits for SIGINT or SIGTERM, then stops every node with SIGTERM (SIGKILL
    /// after 15 s). A node that dies on its own is reported, and the others run on.
    public func runUntilSignalled() async -> Int32 {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        let watcher = Task {
            var reported = Set<String>()
            while !Task.isCancelled {
                for (member, process) in processes where !process.isRunning && !reported.contains(member.id) {
                    reported.insert(member.id)
                    printToStandardError("\(member.id) exited with status \(process.terminationStatus); see \(cluster.logPath(member.id))")
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        for await _ in signals { break }
        watcher.cancel()
        writeLine("\nstopping \(processes.count) nodes…")
        let status: Int32 = await stop() ? 0 : 1
        writeLine("stopped.")
        return status
    }

    /// Stops every node with SIGTERM, and SIGKILL after `grace`. False when one had to be killed.
    public func stop(grace: Duration = .seconds(15)) async -> Bool {
        for (_, process) in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while processes.contains(where: { $0.process.isRunning }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        var stoppedCleanly = true
        for (member, process) in processes where process.isRunning {
            printToStandardError("\(member.id) did not stop within \(grace); killing it")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            stoppedCleanly = false
        }
        return stoppedCleanly
    }

    /// The process ids of the nodes still running, by member id.
    public var runningProcessIDs: [(id: String, pid: Int32)] {
        processes.filter { $0.process.isRunning }.map { ($0.member.id, $0.process.processIdentifier) }
    }

    /// Nodes that exited on their own, with their status.
    public var exitedNodes: [(id: String, status: Int32)] {
        processes.filter { !$0.process.isRunning }.map { ($0.member.id, $0.process.terminationStatus) }
    }
}
