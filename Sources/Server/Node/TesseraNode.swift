import Cell
import CellHost
import Foundation
import Logging
import Machine
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Storage
import Synchronization
import Wire

/// A Tessera node: the cells placement gives it, on shards (event loops),
/// persisted through one store, reachable by peers and clients on one port.
///
/// Run it as a swift-service-lifecycle service: `run()` starts it, serves
/// until a graceful shutdown (SIGTERM) or cancellation, then lets in-flight
/// writes finish, checkpoints the store and returns.
public final class TesseraNode: Service, PeerDispatcher, @unchecked Sendable {
    public let configuration: NodeConfiguration
    let layout: ClusterLayout
    let logger: Logger
    private let started = NIODeadline.now()
    private let boundPort = Mutex<Int?>(nil)
    private var shards: [Shard] = []
    var services: NodeServices!
    let admission: AccountAdmission
    let access: AccessControl
    let administration: AccessKeyAdministration
    let programs: ProgramService
    private let systemClient: SystemClient

    public init(configuration: NodeConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.layout = try ClusterLayout(configuration)
        self.admission = AccountAdmission(rates: configuration.accountRates, memberID: configuration.memberID)
        let systemClient = SystemClient(endpoints: configuration.members.map(\.address), tls: configuration.tls)
        let directory = AccessKeyDirectory(fetch: { try await SystemKeys.readAccessKeys(try await systemClient.connected()) })
        self.systemClient = systemClient
        self.access = AccessControl(directory: directory)
        self.administration = AccessKeyAdministration(system: systemClient, directory: directory)
        self.programs = ProgramService(runner: ProgramRunner(limits: configuration.machineLimits),
                                       threads: InvocationThreads(threadCount: configuration.invocationThreads),
                                       system: systemClient, nodeID: configuration.memberID)
        _ = try NodeAddress.parse(configuration.listenAddress)
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.memberID)"
        self.logger = logger
    }

    /// Checks that the data directory was created with this node id, cell depth,
    /// replica count and placement form (and records them on first start).
    public func validateDataDirectory() throws {
        try NodeIdentity.check(configuration)
    }

    /// The port the node listens on, once it does (useful with port 0).
    public var port: Int? { boundPort.withLock { $0 } }

    public func run() async throws {
        try validateDataDirectory()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.shards))
        // Connections (peers' and clients') live on loops of their own: a shard
        // busy applying a large batch must not stop this node from reading its
        // peers, or it takes their silence for a failure.
        let transport = MultiThreadedEventLoopGroup(numberOfThreads: configuration.transportThreads)
        var storeOptions = StorageOptions()
        storeOptions.cacheBytesMaximum = configuration.cacheBytes
        // Changes since the last checkpoint stay in memory too: bounded with the cache.
        storeOptions.checkpointWALBytes = min(64 << 20, max(8 << 20, configuration.cacheBytes / 2))
        let store = try Store(path: configuration.dataDirectory + "/store", options: storeOptions)
        logger.info("store opened", metadata: ["path": "\(store.path)", "recovery": "\(store.recoveryReport)"])
        let security = try configuration.tls.map(LinkSecurity.init)
        let reloading = security.map { security in
            CredentialReloading(security: security, logger: logger) { [systemClient] credentials in
                Task { await systemClient.replaceCredentials(credentials) }
            }
        }
        if let security {
            logger.info("links are TLS 1.3", metadata: [
                "identity": "\(security.credentials.identity.map { "\($0)" } ?? "?")",
                "validUntil": "\(security.credentials.notValidAfter)", "reload": "on SIGHUP or when a credential file changes"])
        } else {
            logger.warning("links are NOT encrypted or authenticated (--insecure-plaintext): anyone who reaches this port can act as a peer or a client")
        }
        let links = PeerLinks(layout: layout, group: transport, logger: logger, security: security)
        let snapshotFiles = try SnapshotFiles(directory: configuration.dataDirectory + "/snapshots")
        let extents = try QueueExtents(path: configuration.lnrDirectory ?? configuration.dataDirectory + "/lnr", store: store,
                                       cellDepth: configuration.cellDepth, targetBytes: configuration.extentTargetBytes, logger: logger)
        services = NodeServices(layout: layout, store: store, hostedCells: hostedCells(), cellOptions: CellOptions(),
                                compactionInterval: configuration.compactionInterval, logger: logger, transport: links,
                                snapshotFiles: snapshotFiles, extents: extents)
        let loops = Array(group.makeIterator())
        shards = loops.enumerated().map { Shard(index: $0.offset, loop: $0.element, services: services) }
        extents.commit.withLock { [shards] commit in
            commit = { cell, updates, then in
                let shard = shards[Int(cell % UInt64(shards.count))]
                shard.loop.execute {
                    shard.commitLocal(updates, cell: cell)
                    then()
                }
            }
        }
        do {
            try await restoreCells()
            extents.start()
            let (host, port) = try NodeAddress.parse(configuration.listenAddress)
            let server = try await ServerBootstrap(group: transport)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let security {
                            try channel.pipeline.syncOperations.addHandler(PlaintextRefusal(logger: logger))
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: security.serverContext))
                        }
                        try channel.pipeline.syncOperations.addHandlers(Connection.handlers(
                            ConnectionHandler(role: .unknown, links: links, router: self, logger: logger), accepted: true))
                    }
                }
                .bind(host: host, port: port).get()
            boundPort.withLock { $0 = server.localAddress?.port }
            links.start(dispatcher: self)
            reloading?.start()
            logger.info("node serving", metadata: [
                "listen": "\(host):\(server.localAddress?.port ?? port)", "cells": "\(services.hostedCells.count)",
                "shards": "\(shards.count)"])

            // Serve until SIGTERM (graceful shutdown) or cancellation.
            try? await gracefulShutdown()

            logger.info("node stopping")
            reloading?.stop()
            programs.stop()
            await systemClient.close()
            try? await server.close()
            await drainShards()
            extents.stop()
            await links.stop()
            try store.close()
            logger.info("node stopped")
        } catch {
            logger.error("node failed", metadata: ["error": "\(error)"])
            reloading?.stop()
            programs.stop()
            await systemClient.close()
            await links.stop()
            extents.stop()
            try? store.close()
            try? await transport.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw error
        }
        try await transport.shutdownGracefully()
        try await group.shutdownGracefully()
    }

    private func hostedCells() -> Set<UInt64> {
        var hosted = Set<UInt64>()
        let count = UInt64(1) << UInt64(configuration.cellDepth)
        for cell in 0..<count where layout.replicas(of: cell).contains(layout.me) { hosted.insert(cell) }
        return hosted
    }

    func shard(of cell: UInt64) -> Shard { shards[Int(cell % UInt64(shards.count))] }

    /// Reads back every cell that has state on disk and hands each to its shard.
    private func restoreCells() async throws {
        var restored = 0
        let logs = services.store.logs
        for cell in services.hostedCells.sorted() {
            // A cell that never persisted anything has no log: it starts empty on first use.
            guard let log = logs[cell] else { continue }
            let shard = shard(of: cell)
            var state = shard.newState(cell)
            try state.load()
            if let marker = state.pendingInstall {
                logger.info("finishing a snapshot install a crash interrupted", metadata: [
                    "cell": "\(String(cell, radix: 16))", "index": "\(marker.index)"])
            }
            let persisted = try CellLog.restore(cell: cell, log: log, state: &state, installFiles: services.snapshotFiles)
            try await shard.loop.submit { [state] in shard.adopt(cell, persisted: persisted, state: state) }.get()
            restored += 1
        }
        services.snapshotFiles.removeUnopenedInstallFiles()
        for shard in shards { shard.loop.execute { shard.startAdoptedCells() } }
        logger.info("cells restored", metadata: ["count": "\(restored)"])
    }

    /// Refuses new requests and waits (up to a few seconds) for queued writes to be durable.
    private func drainShards() async {
        for shard in shards {
            try? await shard.loop.submit {
                shard.stopping = true
                shard.startSync(force: true)  // commit indexes that were waiting for a ride
            }.get()
        }
        for _ in 0..<100 {
            var idle = true
            for shard in shards where !((try? await shard.loop.submit { shard.isIdle }.get()) ?? true) { idle = false }
            if idle { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        logger.warning("stopping with writes still in flight; they were not acknowledged")
    }

    // MARK: PeerDispatcher

    func deliver(_ envelopes: [CellEnvelope], from peer: NodeID, pacer: InboundPacer) {
        var byShard: [Int: (envelopes: [CellEnvelope], bytes: Int)] = [:]
        for envelope in envelopes {
            let bytes = envelope.estimatedBytes
            byShard[Int(envelope.cell % UInt64(shards.count)), default: ([], 0)].envelopes.append(envelope)
            byShard[Int(envelope.cell % UInt64(shards.count))]!.bytes += bytes
        }
        for (index, part) in byShard {
            let shard = shards[index]
            pacer.handedOn(part.bytes)
            shard.loop.execute {
                shard.receive(part.envelopes, from: peer)
                pacer.processed(part.bytes)
            }
        }
    }

    func deliver(_ transfer: SnapshotTransfer, from peer: NodeID, pacer: InboundPacer) {
        let shard = shard(of: transfer.cell)
        let bytes = transfer.estimatedBytes
        pacer.handedOn(bytes)
        shard.loop.execute {
            shard.receive(transfer, from: peer)
            pacer.processed(bytes)
        }
    }

    func peerSuspected(_ peer: NodeID) {
        for shard in shards { shard.loop.execute { shard.peerSuspected(peer) } }
    }

    func peerReachable(_ peer: NodeID) {
        for shard in shards { shard.loop.execute { shard.peerReachable(peer) } }
    }

    /// What `tessera status` shows of this node.
    func status() async -> NodeStatus {
        var hosted = 0, led = 0, leaderless = 0
        var committed: UInt64 = 0
        var lagging: [NodeStatus.LaggingReplica] = []
        for shard in shards {
            let count = shards.count
            let summary = try? await shard.loop.submit { shard.summary(shardCount: count) }.get()
            guard let summary else { continue }
            hosted += summary.hosted
            led += summary.led
            leaderless += summary.leaderless
            committed += summary.committed
            lagging += summary.lagging
        }
        lagging.sort { ($0.entriesBehind, $1.cell) > ($1.entriesBehind, $0.cell) }
        return NodeStatus(
            memberID: configuration.memberID,
            uptimeMilliseconds: UInt64(max(0, (NIODeadline.now() - started).nanoseconds / 1_000_000)),
            cellsHosted: UInt32(hosted), cellsLed: UInt32(led), cellsWithoutLeader: UInt32(leaderless),
            suspectedPeers: services.transport.suspectedPeers.map { layout.member($0).id },
            lagging: Array(lagging.prefix(200)), committedEntries: committed,
            walBytes: UInt64(services.store.statistics.walBytesSinceCheckpoint))
    }
}

extension Shard {
    struct Summary: Sendable {
        var hosted = 0, led = 0, leaderless = 0
        var committed: UInt64 = 0
        var lagging: [NodeStatus.LaggingReplica] = []
    }

    /// Counts of this shard's cells; a replica lags when its log is behind the leader's commit index.
    func summary(shardCount: Int) -> Summary {
        var summary = Summary(hosted: services.hostedCells.count { Int($0 % UInt64(shardCount)) == index })
        summary.committed = committedEntries
        for hosted in cells.values {
            let replica = hosted.replica
            if replica.role == .leader {
                summary.led += 1
                for (member, match) in replica.followerMatchIndexes where match < replica.commitIndex {
                    summary.lagging.append(.init(cell: hosted.cell, member: services.layout.member(member).id,
                                                 entriesBehind: replica.commitIndex - match))
                }
            } else if replica.leader == nil {
                summary.leaderless += 1
            }
        }
        return summary
    }
}
