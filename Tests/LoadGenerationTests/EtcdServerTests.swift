import EtcdDriver
import Foundation
import LoadGeneration
import TestSupport
import Testing

/// The driver against a real single-member etcd (installed here and in CI;
/// the test fails, naming the package to install, where it is missing).
@Suite("etcd driver against etcd", .requires(.etcd))
struct EtcdServerTests {
    @Test("status, put, get, get-missing, serializable get, concurrent calls, a 4-client load run, connection loss")
    func againstEtcd() async throws {
        let server = try EtcdServerProcess()
        defer { server.stop() }
        let leader: String
        do {
            leader = try await EtcdSystem.waitForLeader(endpoints: [server.endpoint], timeout: .seconds(60))
        } catch {
            Issue.record("etcd did not elect itself within 60 s: \(error)\n\(server.output)")
            return
        }
        #expect(leader == server.endpoint)

        let system = EtcdSystem(endpoints: [server.endpoint], connectionsPerEndpoint: 2)
        #expect(system.name == "etcd")
        #expect(system.interface == "gRPC over HTTP/2 (h2c), 2 connections per member, streams multiplexed")
        #expect(try await system.prepare() == server.endpoint)

        let session = try await system.makeSession(index: 0, of: 1)
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: 100)
        try await session.put(key: 12, value: value)
        #expect(try await session.get(key: 12, consistency: .linearizable))
        #expect(try await session.get(key: 12, consistency: .eventual))
        #expect(try await session.get(key: 987_654, consistency: .linearizable) == false)
        #expect(try await session.get(key: 987_654, consistency: .eventual) == false)
        await session.close()
        await system.endRun()

        // Streams multiplexed on one connection: every call gets its own answer.
        let connection = try await EtcdConnection.connect(to: server.endpoint)
        let status = try await connection.status()
        #expect(status.isLeader, "\(status)")
        #expect(status.version.hasPrefix("3."), "\(status)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    try await connection.put(key: "c\(index)", value: Array("value \(index)".utf8))
                    #expect(try await connection.get(key: "c\(index)", serializable: index % 2 == 0))
                    #expect(try await connection.get(key: "c\(index)-missing", serializable: index % 2 == 1) == false)
                }
            }
            try await group.waitForAll()
        }

        // etcd (gRPC-Go) sends a PING with many responses: hundreds of calls in a row must not
        // trip NIO's limit on control frames, which would end the connection.
        for index in 0..<400 {
            #expect(try await connection.get(key: "c\(index % 64)", serializable: true), "call \(index)")
        }

        // etcd's own errors arrive as gRPC statuses: an empty key is INVALID_ARGUMENT.
        do {
            try await connection.put(key: "", value: [1])
            Issue.record("a put with an empty key succeeded")
        } catch EtcdCallError.failed(_, let method, let grpcStatus) {
            #expect(method == "/etcdserverpb.KV/Put")
            #expect(grpcStatus.code == 3, "\(grpcStatus)")
            #expect(grpcStatus.message.contains("key is not provided"), "\(grpcStatus)")
        }

        let result = try await LoadRun(
            operation: .put, clients: 4, keys: 1000, value: value, warmUpSeconds: 0, seconds: 2
        ).run(on: system)
        #expect(result.operations > 0)
        #expect(result.errors == 0, "first error: \(result.firstError ?? "none")")
        let reads = try await LoadRun(
            operation: .get(.linearizable), clients: 4, keys: 1000, value: value, warmUpSeconds: 0, seconds: 2
        ).run(on: system)
        #expect(reads.operations > 0)
        #expect(reads.errors == 0, "first error: \(reads.firstError ?? "none")")

        // The server going away fails calls with a typed error, promptly.
        server.stop()
        let started = ContinuousClock.now
        await #expect {
            _ = try await connection.get(key: "c1", serializable: true)
        } throws: { error in
            guard case EtcdCallError.connectionClosed = error else { return false }
            return true
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(!connection.isActive)
        await connection.close()
        await #expect(throws: EtcdCallError.self) { try await system.prepare() }
    }

    @Test("three members: writes go to the leader, sessions read from every member")
    func threeMembers() async throws {
        let members = try EtcdServerProcess.cluster(size: 3)
        defer { members.forEach { $0.stop() } }
        let endpoints = members.map(\.endpoint)
        let leader: String
        do {
            leader = try await EtcdSystem.waitForLeader(endpoints: endpoints, timeout: .seconds(60))
        } catch {
            Issue.record("the cluster elected no leader within 60 s: \(error)\n\(members.map(\.output).joined(separator: "\n"))")
            return
        }
        let system = EtcdSystem(endpoints: endpoints, connectionsPerEndpoint: 1)
        #expect(try await system.findLeader() == leader)
        #expect(try await system.prepare() == leader)
        // Sessions 0, 1, 2 read from members 0, 1, 2; a linearizable read on any of them sees the put.
        let sessions = try await (0..<3).asyncMap { try await system.makeSession(index: $0, of: 3) }
        try await sessions[1].put(key: 7, value: [1, 2, 3])
        for session in sessions {
            #expect(try await session.get(key: 7, consistency: .linearizable))
        }
        for session in sessions { await session.close() }
        await system.endRun()
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
