import LoadGeneration
import NIOCore
import NIOPosix

/// Redis as a system under test: a single `redis-server`, driven over RESP2 with
/// a connection per load client, as redis-benchmark drives it.
public struct RedisSystem: LoadSystem {
    public let host: String
    public let port: Int
    public let eventLoopGroup: any EventLoopGroup

    public var name: String { "redis" }
    public var interface: String { "RESP2 over TCP, one connection per client (what redis-benchmark does)" }

    public init(
        host: String = "127.0.0.1", port: Int = 6379,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.eventLoopGroup = eventLoopGroup
    }

    /// A connection of its own, for commands outside the load (such as checking `appendfsync`).
    public func connect() async throws -> RedisConnection {
        try await RedisConnection.connect(host: host, port: port, eventLoopGroup: eventLoopGroup)
    }

    public func makeSession(index: Int, of count: Int) async throws -> any LoadSession {
        RedisSession(connection: try await connect())
    }

    /// One configuration parameter's value over a connection of its own, such as
    /// `configValue("appendfsync")`, to check that writes are as durable as the run claims.
    public func configValue(_ parameter: String) async throws -> String? {
        let connection = try await connect()
        do {
            let value = try await connection.configValue(parameter)
            await connection.close()
            return value
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Connects, sends PING and expects PONG: throws when the server is not up or not Redis.
    public func ping() async throws {
        let connection = try await RedisConnection.connect(
            host: host, port: port, eventLoopGroup: eventLoopGroup, connectTimeout: .seconds(1), requestTimeout: .seconds(2))
        do {
            try await connection.ping()
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Pings until the server answers or `timeout` passes (a freshly started server
    /// takes a moment to listen, and answers `-LOADING` while it reads its files).
    public func waitUntilReady(timeout: Duration = .seconds(10)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            // Read before the attempt: a task that was not scheduled past the
            // deadline (a busy machine) still gets one more try.
            let lastTry = clock.now >= deadline
            do {
                return try await ping()
            } catch {
                guard !lastTry else {
                    throw LoadFailure("redis at \(host):\(port) not ready after \(timeout): \(error)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
