import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Network namespaces a test makes for itself: one per node, each joined to a
/// bridge in the test's own namespace by a veth pair. Cutting a node takes its
/// bridge-side link down: packets are lost silently, both ways, and TCP
/// connections stall as they do behind a failed switch (no reset, no error),
/// which is what loopback cannot show. Needs root and `ip` (iproute2).
final class TestNetwork: @unchecked Sendable {
    let tag: String
    let bridge: String
    let subnet: Int
    let namespaces: [String]
    private var made: [[String]] = []

    static let ipPath = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Why namespaces cannot be made here (nil: they can); checked once.
    static let unavailableReason: String? = {
        guard getuid() == 0 else { return "partition tests make network namespaces, which needs root" }
        guard let ip = ipPath else { return "partition tests need `ip` (apt-get install iproute2)" }
        let probe = "tsprobe\(getpid() % 100_000)"
        guard (try? run(ip, ["netns", "add", probe])) != nil else { return "this machine refuses `ip netns add` (no CAP_SYS_ADMIN?)" }
        _ = try? run(ip, ["netns", "del", probe])
        guard (try? run(ip, ["link", "add", "tbprobe", "type", "bridge"])) != nil else { return "this machine refuses to make a bridge" }
        _ = try? run(ip, ["link", "del", "tbprobe"])
        return nil
    }()

    struct CommandError: Error, CustomStringConvertible { let description: String }

    init(nodes: Int) throws {
        guard let ip = Self.ipPath else { throw CommandError(description: "no ip command") }
        let tag = String(UInt32.random(in: 0..<0xFFFF), radix: 16)
        self.tag = tag
        bridge = "tb\(tag)"
        subnet = Int.random(in: 20...250)
        namespaces = (0..<nodes).map { "ts\(tag)n\($0)" }
        do {
            try step(ip, ["link", "add", bridge, "type", "bridge"])
            try step(ip, ["addr", "add", "10.213.\(subnet).1/24", "dev", bridge])
            try step(ip, ["link", "set", bridge, "up"])
            for (index, namespace) in namespaces.enumerated() {
                let outside = "h\(tag)\(index)", inside = "v\(tag)\(index)"
                try step(ip, ["netns", "add", namespace])
                try step(ip, ["link", "add", outside, "type", "veth", "peer", "name", inside])
                try step(ip, ["link", "set", inside, "netns", namespace])
                try step(ip, ["link", "set", outside, "master", bridge])
                try step(ip, ["link", "set", outside, "up"])
                try step(ip, ["netns", "exec", namespace, ip, "addr", "add", "\(host(index))/24", "dev", inside])
                try step(ip, ["netns", "exec", namespace, ip, "link", "set", inside, "up"])
                try step(ip, ["netns", "exec", namespace, ip, "link", "set", "lo", "up"])
            }
        } catch {
            tearDown()
            throw error
        }
    }

    func host(_ index: Int) -> String { "10.213.\(subnet).\(index + 2)" }

    /// Node `index` loses every packet, both ways, until ``heal(_:)``.
    func cut(_ index: Int) throws { try Self.run(Self.ipPath!, ["link", "set", "h\(tag)\(index)", "down"]) }

    func heal(_ index: Int) throws { try Self.run(Self.ipPath!, ["link", "set", "h\(tag)\(index)", "up"]) }

    /// Runs a command inside node `index`'s namespace; returns its standard output.
    func runInside(_ index: Int, _ arguments: [String]) throws -> String {
        try Self.run(Self.ipPath!, ["netns", "exec", namespaces[index]] + arguments, allowFailure: true)
    }

    /// Removes the namespaces (their veths go with them) and the bridge.
    func tearDown() {
        guard let ip = Self.ipPath else { return }
        for namespace in namespaces { _ = try? Self.run(ip, ["netns", "del", namespace], allowFailure: true) }
        _ = try? Self.run(ip, ["link", "del", bridge], allowFailure: true)
    }

    private func step(_ ip: String, _ arguments: [String]) throws { try Self.run(ip, arguments) }

    @discardableResult
    static func run(_ path: String, _ arguments: [String], allowFailure: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard allowFailure || process.terminationStatus == 0 else {
            throw CommandError(description: "\(path) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(errorText)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
