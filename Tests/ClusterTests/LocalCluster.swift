import Credentials
import Foundation
import TestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failure of the cluster machinery itself (a node that will not start, a wait that timed out).
struct ClusterError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A few `tessera serve` processes on 127.0.0.1, each with its own data folder
/// and log file under one temporary folder. Every process is killed by
/// ``shutdown()`` (call it in a `defer`); a watchdog shell kills them too if
/// the test process itself dies first.
final class LocalCluster: @unchecked Sendable {
    struct Node {
        let id: String
        let host: String
        let port: Int
        let dataDirectory: String
        let logPath: String
        /// The network namespace it runs in (a ``TestNetwork``), if not the test's.
        let namespace: String?
        var address: String { "\(host):\(port)" }
    }

    let label: String
    let folder: URL
    let nodes: [Node]
    let cellDepth: Int
    let membersPath: String
    /// More `tessera serve` flags for every node.
    let serveArguments: [String]
    /// Where each node finds its TLS credentials (`member-<id>.pem` and the CA); nil: plaintext.
    let credentials: CredentialFolder?
    private let executable: URL
    private let lock = NSLock()
    private var processes: [Int: Process] = [:]
    private var paused: Set<Int> = []
    /// Nodes the test stopped or killed on purpose (until restarted).
    private var expectedDown: Set<Int> = []
    /// Nodes already reported as having exited on their own.
    private var reportedExits: Set<Int> = []
    private var watchdog: Process?
    private let failures = Mutex<[String]>([])
    let started = ContinuousClock.now

    /// Makes the folder, picks free ports and writes the members file; starts nothing.
    /// With `tlsClients`, links are TLS: a new CA in the cluster's folder
    /// (`credentials`), a certificate per member and one per client named.
    init(nodes count: Int, label: String, cellDepth: Int = 6, serveArguments: [String] = [], network: TestNetwork? = nil,
         tlsClients: [String]? = nil) throws {
        self.label = label
        self.serveArguments = serveArguments
        self.cellDepth = cellDepth
        executable = try BuiltExecutable.url("tessera")
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-cluster-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
        self.folder = folder
        credentials = tlsClients == nil ? nil : CredentialFolder(path: folder.appendingPathComponent("credentials").path)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // In namespaces of their own every node may take the same port; on loopback they need free ones.
        let ports = network == nil ? try LoopbackPorts.free(count) : [Int](repeating: 7100, count: count)
        nodes = (0..<count).map { index in
            Node(id: "node-\(index + 1)", host: network?.host(index) ?? "127.0.0.1", port: ports[index],
                 dataDirectory: folder.appendingPathComponent("data-\(index + 1)").path,
                 logPath: folder.appendingPathComponent("node-\(index + 1).log").path,
                 namespace: network?.namespaces[index])
        }
        membersPath = folder.appendingPathComponent("members.json").path
        let members = nodes.enumerated().map { index, node in
            "{\"id\":\"\(node.id)\",\"address\":\"\(node.address)\",\"zone\":\"zone-\(index + 1)\",\"weight\":1}"
        }
        try ("[" + members.joined(separator: ",") + "]\n").write(toFile: membersPath, atomically: true, encoding: .utf8)
        try credentials?.ensure(nodes.map { .member($0.id) } + (tlsClients ?? []).map { .client($0) })
        try startWatchdog()
    }

    var endpoints: [String] { nodes.map(\.address) }
    func index(of memberID: String) -> Int? { nodes.firstIndex { $0.id == memberID } }
    var elapsed: String { String(format: "%.1f s", (ContinuousClock.now - started).seconds) }

    /// Prints a progress line prefixed with the test's label and elapsed time.
    func note(_ message: String) {
        print("[\(label) \(elapsed)] \(message)")
    }

    // MARK: Failures

    /// Records an issue; the node logs' tails are printed when the test ends.
    func fail(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        failures.withLock { $0.append(message) }
        Issue.record(Comment(rawValue: "[\(label)] \(message)"), sourceLocation: sourceLocation)
    }

    func check(_ condition: Bool, _ message: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
        if !condition { fail(message(), sourceLocation: sourceLocation) }
    }

    var hasFailed: Bool { failures.withLock { !$0.isEmpty } }

    // MARK: Processes

    private func tlsArguments(_ id: String) -> [String] {
        guard let credentials else { return ["--insecure-plaintext"] }
        let files = credentials.files(for: .member(id))
        return ["--tls-ca", files.certificateAuthority, "--tls-cert", files.certificate, "--tls-key", files.privateKey]
    }

    /// Starts node `index` (again, on the same data folder, after a stop or a kill).
    func start(_ index: Int) throws {
        try Task.checkCancellation()  // a test past its time limit starts nothing more
        let node = nodes[index]
        lock.lock()
        defer { lock.unlock() }
        if let process = processes[index], process.isRunning {
            throw ClusterError("\(node.id) is already running (pid \(process.processIdentifier))")
        }
        let log = try Self.openForAppending(node.logPath)
        log.write(Data("==== test: starting \(node.id) at \(elapsed) ====\n".utf8))
        let process = Process()
        let serve = [
            "serve", "--node-id", node.id, "--listen", node.address, "--members", membersPath,
            "--data-dir", node.dataDirectory, "--cell-depth", "\(cellDepth)", "--replicas", "3",
        ] + serveArguments + tlsArguments(node.id)
        if let namespace = node.namespace, let ip = TestNetwork.ipPath {
            // `ip netns exec` execs the node in place: the pid is the node's.
            process.executableURL = URL(fileURLWithPath: ip)
            process.arguments = ["netns", "exec", namespace, executable.path] + serve
        } else {
            process.executableURL = executable
            process.arguments = serve
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        processes[index] = process
        paused.remove(index)
        expectedDown.remove(index)
        reportedExits.remove(index)
        writePIDFile()
    }

    func startAll() throws {
        for index in nodes.indices { try start(index) }
    }

    func isRunning(_ index: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return processes[index]?.isRunning ?? false
    }

    func pid(_ index: Int) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        return processes[index].map(\.processIdentifier)
    }

    /// SIGKILL: a crash. Returns once the process is gone.
    func kill(_ index: Int) async {
        checkNodesAlive()  // a node that already died on its own is reported, not taken for killed
        signal(index, SIGKILL)
        await waitForExit(index, timeout: .seconds(10))
    }

    /// SIGKILLs several nodes back to back (all at once, as far as a test can), then waits for them.
    func killAll(_ indices: [Int]) async {
        checkNodesAlive()
        for index in indices { signal(index, SIGKILL) }
        for index in indices { await waitForExit(index, timeout: .seconds(10)) }
    }

    /// SIGTERM: a clean stop; SIGKILL if it takes longer than `timeout`.
    func terminate(_ indices: [Int], timeout: Duration = .seconds(20)) async {
        checkNodesAlive()
        for index in indices { signal(index, SIGTERM) }
        for index in indices {
            if await !waitForExit(index, timeout: timeout) {
                fail("\(nodes[index].id) did not stop within \(timeout) of SIGTERM; killing it")
                await kill(index)
            }
        }
    }

    /// SIGSTOP: the process freezes (its sockets stay open, nothing is answered).
    func pause(_ index: Int) {
        signal(index, SIGSTOP)
        locked { _ = paused.insert(index) }
        appendToLog(index, "==== test: SIGSTOP \(nodes[index].id) at \(elapsed) ====")
    }

    /// SIGCONT after ``pause(_:)``.
    func resume(_ index: Int) {
        appendToLog(index, "==== test: SIGCONT \(nodes[index].id) at \(elapsed) ====")
        signal(index, SIGCONT)
        locked { _ = paused.remove(index) }
    }

    private func signal(_ index: Int, _ number: Int32) {
        if number == SIGKILL || number == SIGTERM { locked { _ = expectedDown.insert(index) } }
        guard let pid = pid(index), isRunning(index) else { return }
        if number == SIGKILL || number == SIGTERM {
            appendToLog(index, "==== test: \(number == SIGKILL ? "SIGKILL" : "SIGTERM") \(nodes[index].id) at \(elapsed) ====")
        }
        sendSignal(pid, number)
    }

    @discardableResult
    private func waitForExit(_ index: Int, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning(index) {
            if ContinuousClock.now >= deadline { return false }
            do { try await Task.sleep(for: .milliseconds(20)) } catch { usleep(20_000) }  // cancelled: still wait
        }
        return true
    }

    private func appendToLog(_ index: Int, _ line: String) {
        guard let handle = try? Self.openForAppending(nodes[index].logPath) else { return }
        handle.write(Data((line + "\n").utf8))
        try? handle.close()
    }

    /// A log file opened with O_APPEND, so that the node's writes and the test's markers never overwrite each other.
    static func openForAppending(_ path: String) throws -> FileHandle {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw ClusterError("cannot open \(path): errno \(errno)") }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Waits until node `index` accepts TCP connections.
    func waitUntilListening(_ index: Int, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !LoopbackPorts.accepts(nodes[index].port, host: nodes[index].host) {
            guard isRunning(index) else {
                throw ClusterError("\(nodes[index].id) exited while starting:\n\(logTail(index))")
            }
            guard ContinuousClock.now < deadline else {
                throw ClusterError("\(nodes[index].id) did not listen within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func waitUntilAllListening(timeout: Duration = .seconds(20)) async throws {
        for index in nodes.indices { try await waitUntilListening(index, timeout: timeout) }
    }

    /// Nodes that exited although the test did not stop them, with their exit
    /// status and the log lines that say why; each is reported once.
    func checkNodesAlive(sourceLocation: SourceLocation = #_sourceLocation) {
        let exited: [(Int, Int32)] = locked {
            processes.compactMap { index, process in
                guard !process.isRunning, !expectedDown.contains(index), !reportedExits.contains(index) else { return nil }
                reportedExits.insert(index)
                return (index, process.terminationStatus)
            }
        }
        for (index, status) in exited.sorted(by: { $0.0 < $1.0 }) {
            let reasons = logLines(index, containing: " critical ") + logLines(index, containing: " error ")
            fail("\(nodes[index].id) exited on its own with status \(status); its log says: \(reasons.suffix(5).joined(separator: " | "))",
                 sourceLocation: sourceLocation)
        }
    }

    /// Whether some node exited although the test did not stop it (cheap: for loops to give up early).
    var hasUnexpectedExit: Bool {
        locked { processes.contains { index, process in !process.isRunning && !expectedDown.contains(index) } }
    }

    /// Reports nodes that exited on their own and ends the test: nothing after it would mean anything.
    func requireHealthy(sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard hasUnexpectedExit else { return }
        checkNodesAlive(sourceLocation: sourceLocation)
        throw ClusterError("a node exited on its own; the test stops here")
    }

    /// Kills every node still running (SIGCONT first for paused ones), stops
    /// the watchdog and removes the folder. Synchronous, for `defer`.
    func shutdown() {
        checkNodesAlive()
        lock.lock()
        let running = processes.values.filter(\.isRunning)
        let watchdog = self.watchdog
        lock.unlock()
        for process in running {
            sendSignal(process.processIdentifier, SIGCONT)
            sendSignal(process.processIdentifier, SIGKILL)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while running.contains(where: \.isRunning) && ContinuousClock.now < deadline { usleep(10_000) }
        if hasFailed || ProcessInfo.processInfo.environment["TESSERA_CLUSTER_PRINT_LOGS"] != nil { printLogTails() }
        if ProcessInfo.processInfo.environment["TESSERA_KEEP_CLUSTER"] != nil {
            print("[\(label)] keeping \(folder.path) (TESSERA_KEEP_CLUSTER is set)")
            if let watchdog { sendSignal(watchdog.processIdentifier, SIGKILL) }
        } else {
            try? FileManager.default.removeItem(at: folder)  // the watchdog sees the folder go and exits
        }
    }

    /// Resident memory of node `index`, in bytes (from /proc; nil if it is not running).
    func residentBytes(_ index: Int) -> Int? {
        guard let pid = pid(index), isRunning(index),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kibibytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kibibytes * 1024
    }

    // MARK: Logs

    /// The last `lines` lines of node `index`'s log.
    func logTail(_ index: Int, lines: Int = 40) -> String {
        guard let data = FileManager.default.contents(atPath: nodes[index].logPath) else { return "(no log)" }
        let all = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        return all.suffix(lines).joined(separator: "\n")
    }

    /// Lines of node `index`'s log that contain `text`.
    func logLines(_ index: Int, containing text: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: nodes[index].logPath) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.contains(text) }.map(String.init)
    }

    func printLogTails(lines: Int = 40) {
        for index in nodes.indices {
            print("----- [\(label)] last \(lines) lines of \(nodes[index].id) (\(nodes[index].logPath)) -----")
            print(logTail(index, lines: lines))
        }
        print("----- [\(label)] end of logs -----")
    }

    // MARK: Plumbing

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Kills the nodes if this test process dies without calling ``shutdown()``:
    /// a shell that polls this process and the cluster folder.
    private func startWatchdog() throws {
        let pidFile = folder.appendingPathComponent("pids").path
        let script = """
            while kill -0 \(getpid()) 2>/dev/null && [ -d '\(folder.path)' ]; do sleep 1; done
            if [ -d '\(folder.path)' ]; then
              for p in $(cat '\(pidFile)' 2>/dev/null); do kill -CONT $p 2>/dev/null; kill -KILL $p 2>/dev/null; done
              rm -rf '\(folder.path)'
            fi
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        watchdog = process
    }

    /// Called with `lock` held.
    private func writePIDFile() {
        let text = processes.values.map { "\($0.processIdentifier)" }.joined(separator: " ") + "\n"
        try? text.write(toFile: folder.appendingPathComponent("pids").path, atomically: true, encoding: .utf8)
    }

}

extension LocalCluster {
    /// Runs `body` on a fresh started cluster and always tears it down: every
    /// node is killed and the folder removed, and the node logs' tails are
    /// printed if the body threw or recorded a failure.
    static func run<T>(
        nodes: Int = 3, label: String, serveArguments: [String] = [], network: TestNetwork? = nil,
        _ body: (LocalCluster) async throws -> T
    ) async throws -> T {
        let cluster = try LocalCluster(nodes: nodes, label: label, serveArguments: serveArguments, network: network)
        defer { cluster.shutdown() }
        do {
            try cluster.startAll()
            try await cluster.waitUntilAllListening()
            cluster.note("\(nodes) nodes listening on \(cluster.endpoints.joined(separator: ", ")) (folder \(cluster.folder.path))")
            let result = try await body(cluster)
            cluster.checkNodesAlive()
            cluster.note("done")
            return result
        } catch {
            cluster.fail("stopped by an error: \(error)")
            throw error
        }
    }
}

/// `kill(2)`, under a name the cluster's own `kill(_:)` does not shadow.
func sendSignal(_ pid: pid_t, _ number: Int32) {
    _ = kill(pid, number)
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func waitUntil(
    timeout: Duration, every interval: Duration = .milliseconds(100), _ condition: () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if await condition() { return true }
        if ContinuousClock.now >= deadline || Task.isCancelled { return false }
        try? await Task.sleep(for: interval)
    }
}
