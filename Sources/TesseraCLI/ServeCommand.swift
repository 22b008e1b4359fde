import ArgumentParser
import CommandSupport
import Foundation
import Logging
import Placement
import Server
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one node of a cluster.",
        discussion: """
            The node hosts the cells placement gives it, keeps its data in --data-dir, and
            serves peers and clients on one --listen address. Every node of a cluster must
            use the same members file, --cell-depth and --replicas. SIGTERM or Ctrl-C stops
            it cleanly; restarted on the same --data-dir, it recovers and catches up.

            Example (three terminals, or use `tessera dev`):
              tessera serve --node-id node-1 --listen 127.0.0.1:7101 --members members.json --data-dir data/1
            """
    )

    @Option(name: .customLong("node-id"), help: "This node's id in the members file.")
    var nodeID: String

    @Option(help: "HOST:PORT to listen on, for peers and clients.")
    var listen: String

    @Option(help: "A JSON members file: a list of {\"id\", \"address\", \"zone\", \"weight\"}.")
    var members: String

    @Option(name: .customLong("data-dir"), help: "Folder for this node's data (created if missing).")
    var dataDirectory: String

    @Option(help: "This node's zone; if given, it must match the members file.")
    var zone: String?

    @Option(name: .customLong("cell-depth"), help: "Cells are pointer prefixes of this many bits (2^depth cells).")
    var cellDepth = 12

    @Option(help: "Replicas per cell: 1, 3 or 5.")
    var replicas = 3

    @Option(help: "Event loops that own cells (default: one per core).")
    var shards: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @OptionGroup(title: "Admission control")
    var accountRates: AccountRateOptions

    @OptionGroup(title: "Memory")
    var cache: CacheOptions

    @OptionGroup(title: "Security")
    var tls: NodeTLSOptions

    @OptionGroup(title: "Programs (the VM)")
    var programs: ProgramLimitOptions

    @OptionGroup(title: "Queues (lnr)")
    var queues: QueueStorageOptions

    func run() async throws {
        returnLargeBuffersToTheSystem()
        let level = try LogLevelOption.parse(logLevel)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tessera")
        let memberList = try MembersFile.load(members)
        guard let me = memberList.members.first(where: { $0.id == nodeID }) else {
            throw commandFailure("--node-id \(nodeID) is not in \(members) (members: \(memberList.members.map(\.id).joined(separator: ", ")))",
                                 status: ExitStatus.badInput)
        }
        if let zone, zone != me.zone {
            throw commandFailure("--zone \(zone) differs from \(nodeID)'s zone \(me.zone) in \(members)", status: ExitStatus.badInput)
        }
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw commandFailure("cannot create --data-dir \(dataDirectory): \(error.localizedDescription)", status: ExitStatus.ioError)
        }
        var configuration = NodeConfiguration(memberID: nodeID, listenAddress: listen, members: memberList.members,
                                              dataDirectory: dataDirectory)
        configuration.cellDepth = cellDepth
        configuration.replicas = replicas
        if let shards { configuration.shards = shards }
        configuration.accountRates = accountRates.rates
        configuration.cacheBytes = cache.cacheBytes.bytes
        configuration.machineLimits = programs.limits
        configuration.invocationThreads = programs.invocationThreads
        queues.apply(to: &configuration)
        configuration.tls = try tls.credentials(nodeID: nodeID)
        let node: TesseraNode
        do {
            node = try TesseraNode(configuration: configuration, logger: logger)
            try node.validateDataDirectory()
        } catch let error as NodeConfigurationError {
            if case .unsupportedDataFormat = error { throw commandFailure("\(error)", status: ExitStatus.unsupportedFormat) }
            throw commandFailure("\(error)", status: ExitStatus.badInput)
        } catch {
            throw commandFailure("\(error)", status: ExitStatus.badInput)
        }
        let group = ServiceGroup(configuration: .init(
            services: [node], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            throw commandFailure("node \(nodeID) failed: \(error)", status: ExitStatus.ioError)
        }
    }
}

enum LogLevelOption {
    static func parse(_ text: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw commandFailure("--log-level \(text) is not one of: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))",
                                 status: ExitStatus.badInput)
        }
        return level
    }
}

/// Buffers of a MiB or more (snapshots, group-commit records, large values)
/// get their own mappings, which go back to the system when freed. By default
/// glibc raises this threshold to the largest buffer freed so far, after
/// which such buffers come from its heap and a node's resident size keeps
/// the high-water mark of every catch-up (measured: 558 MiB instead of 222
/// MiB after installing 140 MiB of snapshots, with a 32 MiB cache).
private func returnLargeBuffersToTheSystem() {
    #if os(Linux)
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in <malloc.h>, which Swift's Glibc module leaves out
        _ = glibcMallopt(mmapThreshold, 1 << 20)
    #endif
}

#if os(Linux)
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
