import Foundation
import LoadGeneration
import RedisDriver
import TestSupport
import Testing

/// The driver against a real `redis-server` (installed here and in CI; the
/// test fails, naming the package to install, where it is missing).
@Suite("Redis driver against redis-server", .requires(.redisServer))
struct RedisServerTests {
    @Test("put, get, get-missing, durability settings, errors and a 4-client load run")
    func againstRedisServer() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let system = RedisSystem(host: "127.0.0.1", port: server.port)
        do {
            try await system.waitUntilReady(timeout: .seconds(60))
        } catch {
            Issue.record("redis-server did not answer PING: \(error)\n\(server.output)")
            return
        }
        #expect(system.name == "redis")
        #expect(try await system.configValue("appendfsync") == "always")
        #expect(try await system.configValue("appendonly") == "yes")
        #expect(try await system.configValue("no-such-parameter") == nil)

        let session = try await system.makeSession(index: 0, of: 1)
        try await session.put(key: 12, value: [UInt8](repeating: UInt8(ascii: "v"), count: 100))
        #expect(try await session.get(key: 12, consistency: .linearizable))
        #expect(try await session.get(key: 12, consistency: .eventual))
        #expect(try await session.get(key: 987_654, consistency: .linearizable) == false)
        await session.close()

        // Only operations that start and finish inside the window count. A machine
        // loaded by the other tests running in parallel can leave a short window
        // empty (fsyncs queue behind theirs), so the window grows until one completes.
        var result = try await LoadRun(
            operation: .put, clients: 4, keys: 1000, value: [UInt8](repeating: 0x61, count: 100),
            warmUpSeconds: 0, seconds: 2
        ).run(on: system)
        for seconds in [5.0, 15.0] where result.operations == 0 && result.errors == 0 {
            result = try await LoadRun(
                operation: .put, clients: 4, keys: 1000, value: [UInt8](repeating: 0x61, count: 100),
                warmUpSeconds: 0, seconds: seconds
            ).run(on: system)
        }
        #expect(result.operations > 0)
        #expect(result.errors == 0, "first error: \(result.firstError ?? "none")")
    }

    @Test("error replies carry Redis's message; concurrent sends on one connection get their own replies")
    func connectionBehaviour() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let system = RedisSystem(host: "127.0.0.1", port: server.port)
        try await system.waitUntilReady(timeout: .seconds(60))
        let connection = try await system.connect()

        do {
            _ = try await connection.command("NOSUCHCOMMAND", "x")
            Issue.record("an unknown command succeeded")
        } catch RedisError.errorReply(let message) {
            #expect(message.hasPrefix("ERR unknown command"), "\(message)")
        }

        // Many tasks on one connection: each reply must reach the task that asked.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    _ = try await connection.command("SET", "c\(index)", "value \(index)")
                    let reply = try await connection.command("GET", "c\(index)")
                    #expect(reply == .bulkString(Array("value \(index)".utf8)))
                }
            }
            try await group.waitForAll()
        }

        // QUIT: Redis answers +OK and closes; the next request learns the connection is gone.
        #expect(try await connection.command("QUIT") == .simpleString("OK"))
        await #expect(throws: RedisError.self) { _ = try await connection.command("PING") }
        await connection.close()

        // A reply that does not come in time fails its request and closes the connection.
        let slow = try await RedisConnection.connect(host: "127.0.0.1", port: server.port, requestTimeout: .milliseconds(200))
        do {
            _ = try await slow.command("BLPOP", "empty-list", "5")
            Issue.record("BLPOP on an empty list answered within 200 ms")
        } catch RedisError.timedOut(let command, _) {
            #expect(command == "BLPOP")
        }
        await #expect(throws: RedisError.self) { _ = try await slow.command("PING") }
        await slow.close()
    }

    @Test("connecting where nothing listens fails with connectFailed")
    func nothingListens() async throws {
        let port = try LoopbackPorts.closed()
        do {
            _ = try await RedisConnection.connect(host: "127.0.0.1", port: port, connectTimeout: .seconds(2))
            Issue.record("connected to a closed port")
        } catch RedisError.connectFailed(_, let failedPort, let reason) {
            #expect(failedPort == port)
            #expect(!reason.isEmpty)
        }
        await #expect(throws: (any Error).self) { try await RedisSystem(port: port).ping() }
    }
}
