import LoadGeneration
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// etcd through its native client protocol, gRPC over HTTP/2 (h2c), spoken
/// by this package's own minimal client. It behaves like a well-configured
/// etcd client: writes go straight to the leader (no forwarding hop through
/// a follower), reads are spread over every member (followers serve
/// serializable reads themselves and linearizable ones through ReadIndex).
///
/// A run's connections are opened by its first `makeSession` (or by
/// `prepare()`), which also finds the leader, and closed by `endRun()`, so
/// every run starts fresh and sees the leader of its time. Should the leader
/// change within a run, puts still succeed: etcd forwards them.
public final class EtcdSystem: LoadSystem {
    public let name = "etcd"
    public let interface: String
    public let endpoints: [String]
    public let connectionsPerEndpoint: Int
    let eventLoopGroup: any EventLoopGroup
    private let connectTimeout: Duration
    private let callTimeout: Duration
    /// Client TLS for members run with `--cert-file`/`--client-cert-auth`; nil for h2c.
    let tls: NIOSSLContext?
    /// The current run's connections, opened once however many sessions ask at the same time.
    private let currentRun = Mutex<Task<EtcdConnectionSet, any Error>?>(nil)

    /// - Parameters:
    ///   - endpoints: every member's client URL as "host:port".
    ///   - connectionsPerEndpoint: HTTP/2 connections to each member; calls are multiplexed on them.
    public init(
        endpoints: [String], connectionsPerEndpoint: Int = 1,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: Duration = .seconds(5), callTimeout: Duration = .seconds(10), tls: NIOSSLContext? = nil
    ) {
        precondition(!endpoints.isEmpty, "EtcdSystem needs at least one endpoint")
        precondition(connectionsPerEndpoint >= 1, "EtcdSystem needs at least one connection per endpoint")
        self.endpoints = endpoints
        self.connectionsPerEndpoint = connectionsPerEndpoint
        self.eventLoopGroup = eventLoopGroup
        self.connectTimeout = connectTimeout
        self.callTimeout = callTimeout
        self.tls = tls
        let connections = connectionsPerEndpoint == 1 ? "1 connection" : "\(connectionsPerEndpoint) connections"
        let transport = tls == nil ? "HTTP/2 (h2c)" : "HTTP/2 over TLS 1.3 with a client certificate"
        interface = "gRPC over \(transport), \(connections) per member, streams multiplexed"
    }

    /// Opens the run's connections and finds the leader, if not done yet.
    /// Returns the leader's endpoint.
    @discardableResult
    public func prepare() async throws -> String {
        try await connectionSet().leaderEndpoint
    }

    public func makeSession(index: Int, of count: Int) async throws -> any LoadSession {
        let connections = try await connectionSet()
        return EtcdSession(
            writer: connections.leaderConnections[index % connections.leaderConnections.count],
            reader: connections.readConnections[index % connections.readConnections.count])
    }

    public func endRun() async {
        let run = currentRun.withLock { current in
            defer { current = nil }
            return current
        }
        if let connections = try? await run?.value { await connections.closeAll() }
    }

    private func connectionSet() async throws -> EtcdConnectionSet {
        let (endpoints, perEndpoint, group) = (self.endpoints, connectionsPerEndpoint, eventLoopGroup)
        let (connectTimeout, callTimeout, tls) = (self.connectTimeout, self.callTimeout, self.tls)
        let run = currentRun.withLock { current in
            if let current { return current }
            let opening = Task {
                try await EtcdConnectionSet.open(
                    endpoints: endpoints, perEndpoint: perEndpoint, eventLoopGroup: group,
                    connectTimeout: connectTimeout, callTimeout: callTimeout, tls: tls)
            }
            current = opening
            return opening
        }
        do {
            return try await run.value
        } catch {
            // A failed opening is not kept: the next session or run tries again.
            currentRun.withLock { current in if current == run { current = nil } }
            throw error
        }
    }
}
