import Foundation
import Placement

/// Runs the dev cluster's nodes as child processes and stops them together.
final class NodeSupervisor: @unchecked Sendable {
    let cluster: DevCluster
    let members: [Member]
    let cellDepth: Int
    let replicas: Int
    let logLevel: String
    private var processes: [(member: Member, process: Process)] = []

    init(cluster: DevCluster, members: [Member], cellDepth: Int, replicas: Int, logLevel: String) throws {
        self.cluster = cluster
        self.members = members
        self.cellDepth = cellDepth
        self.replicas = replicas
        self.logLevel = logLevel
    }

    /// This very executable: nodes run the same build as the command that started them.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    func start() throws {
        for member in members {
            let folder = cluster.nodeFolder(member.id)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
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
                "--log-level", logLevel,
            ]
            process.standardOutput = log
            process.standardError = log
            try process.run()
            processes.append((member, process))
        }
    }

    /// Polls each node's port until it accepts a connection.
    func waitUntilListening(timeout: Duration) async -> Bool {
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
    func runUntilSignalled() async -> Int32 {
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
        for (_, process) in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(15)
        while processes.contains(where: { $0.process.isRunning }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        var status: Int32 = 0
        for (member, process) in processes {
            if process.isRunning {
                printToStandardError("\(member.id) did not stop within 15 s; killing it")
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                status = 1
            }
        }
        writeLine("stopped.")
        return status
    }
}
