import Credentials
import EtcdDriver
import Foundation
import RedisDriver

#if canImport(Glibc)
    import Glibc
#endif

// The peers' servers for `tessera-bench peers`: started on 127.0.0.1 with their
// data under the run's folder, logs beside it, and stopped by the run.

/// One server process with its output going to a log file.
final class ManagedProcess: @unchecked Sendable {
    let name: String
    let logPath: String
    private let process = Process()

    init(name: String, executable: String, arguments: [String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        do {
            try Self.withSignalsUnblocked { try process.run() }
        } catch {
            throw BenchFailure("cannot start \(name) (\(executable)): \(error.localizedDescription)")
        }
    }

    /// A child starts with the signal mask of the thread that spawns it, and the
    /// threads of Swift's task pool block most signals: spawned from one, a
    /// server would never see SIGTERM. The mask is lifted for the spawn only.
    private static func withSignalsUnblocked(_ body: () throws -> Void) rethrows {
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_UNBLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try body()
    }

    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }
    var exitStatus: Int32 { process.terminationStatus }

    /// The log's last lines, for an error message.
    func logTail(lines: Int = 5) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// SIGTERM, then SIGKILL after `grace`.
    func stop(grace: Duration = .seconds(10)) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// A free TCP port on 127.0.0.1, as the kernel hands out for port 0. Another
/// process could take it before the server binds it; the server then fails to
/// start and says so in its log.
func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw BenchFailure("socket: \(errnoText(errno))") }
    defer { _ = close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else { throw BenchFailure("bind 127.0.0.1:0: \(errnoText(errno))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Distinct free ports (the kernel may hand the same port out twice in a row once it is closed).
func freeLoopbackPorts(_ count: Int) throws -> [Int] {
    var ports: [Int] = []
    while ports.count < count {
        let port = try freeLoopbackPort()
        if !ports.contains(port) { ports.append(port) }
    }
    return ports
}

/// The path of `name` on PATH, or nil.
func executableOnPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":") {
        let candidate = "\(folder)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// What `executable arguments…` prints (stdout and stderr), or nil when it cannot run.
func outputOf(_ executable: String, _ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// PEM files for an etcd cluster run over TLS: the CA, the members' certificate
/// (valid for 127.0.0.1, used on client and peer links) and a client's.
struct EtcdTLSFiles {
    var certificateAuthority: String
    var memberCertificate: String
    var memberKey: String
    var clientCertificate: String
    var clientKey: String

    /// Makes them in `folder` from a new CA.
    static func make(in folder: String) throws -> EtcdTLSFiles {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let authority = try CertificateAuthority.generate(name: "tessera-bench etcd CA")
        let member = try authority.issue(commonName: "etcd-member", ipv4Addresses: ["127.0.0.1"])
        let client = try authority.issue(commonName: "tessera-bench", ipv4Addresses: [])
        let files = EtcdTLSFiles(
            certificateAuthority: folder + "/ca.pem", memberCertificate: folder + "/member.pem", memberKey: folder + "/member-key.pem",
            clientCertificate: folder + "/client.pem", clientKey: folder + "/client-key.pem")
        for (path, text) in [(files.certificateAuthority, try authority.certificatePEM),
                             (files.memberCertificate, member.certificatePEM), (files.memberKey, member.privateKeyPEM),
                             (files.clientCertificate, client.certificatePEM), (files.clientKey, client.privateKeyPEM)] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        return files
    }

    /// Mutual TLS on both of a member's links, as etcd's security guide sets it up.
    var memberArguments: [String] {
        ["--cert-file", memberCertificate, "--key-file", memberKey, "--trusted-ca-file", certificateAuthority,
         "--client-cert-auth",
         "--peer-cert-file", memberCertificate, "--peer-key-file", memberKey, "--peer-trusted-ca-file", certificateAuthority,
         "--peer-client-cert-auth"]
    }
}

/// A three-member etcd cluster (etcd's defaults otherwise: fsync on every
/// commit, 100 ms heartbeats, 1 s elections), over TLS with `tls`.
struct EtcdCluster {
    let members: [ManagedProcess]
    let clientEndpoints: [String]

    static func start(executable: String, folder: String, size: Int, tls: EtcdTLSFiles? = nil) throws -> EtcdCluster {
        let ports = try freeLoopbackPorts(size * 2)
        let names = (1...size).map { "etcd-\($0)" }
        let scheme = tls == nil ? "http" : "https"
        let peerURL = { (index: Int) in "\(scheme)://127.0.0.1:\(ports[size + index])" }
        let initialCluster = names.indices.map { "\(names[$0])=\(peerURL($0))" }.joined(separator: ",")
        var members: [ManagedProcess] = []
        for (index, name) in names.enumerated() {
            let clientURL = "\(scheme)://127.0.0.1:\(ports[index])"
            let dataFolder = folder + "/" + name
            try FileManager.default.createDirectory(atPath: dataFolder, withIntermediateDirectories: true)
            let arguments = (tls?.memberArguments ?? []) + [
                "--name", name, "--data-dir", dataFolder,
                "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
                "--listen-peer-urls", peerURL(index), "--initial-advertise-peer-urls", peerURL(index),
                "--initial-cluster", initialCluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "tessera-bench-peers",
            ]
            do {
                members.append(try ManagedProcess(name: name, executable: executable, arguments: arguments, logPath: folder + "/\(name).log"))
            } catch {
                for member in members { kill(member.pid, SIGKILL) }
                throw error
            }
        }
        return EtcdCluster(members: members, clientEndpoints: ports.prefix(size).map { "127.0.0.1:\($0)" })
    }

    func stop() async {
        for member in members { await member.stop() }
    }
}

/// A Redis server made durable the strict way: the append-only file fsynced
/// before every reply (`appendfsync always`), no RDB snapshots.
struct RedisServer {
    let process: ManagedProcess
    let endpoint: String
    let port: Int

    static func start(executable: String, folder: String) throws -> RedisServer {
        let port = try freeLoopbackPort()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let arguments = [
            "--bind", "127.0.0.1", "--port", "\(port)", "--dir", folder, "--save", "",
            "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "yes",
        ]
        let process = try ManagedProcess(name: "redis", executable: executable, arguments: arguments, logPath: folder + ".log")
        return RedisServer(process: process, endpoint: "127.0.0.1:\(port)", port: port)
    }
}
