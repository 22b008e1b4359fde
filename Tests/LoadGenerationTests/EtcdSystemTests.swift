
@testable import EtcdDriver
@testable import LoadGeneration
import TestSupport
import Testing

/// The parts of the etcd driver that need no etcd: endpoints, choosing the
/// leader from Status answers, and failing to connect.
@Suite("etcd system without a server")
struct EtcdSystemTests {
    @Test("endpoints are host:port, IPv6 literals bracketed")
    func endpoints() throws {
        let plain = try EtcdEndpoint(parsing: "127.0.0.1:2379")
        #expect(plain.host == "127.0.0.1" && plain.port == 2379)
        let v6 = try EtcdEndpoint(parsing: "[::1]:2379")
        #expect(v6.host == "::1" && v6.port == 2379)
        for bad in ["127.0.0.1", "host:", ":2379", "host:0", "host:70000", "host:x", ""] {
            #expect(throws: EtcdCallError.invalidEndpoint(bad)) { try EtcdEndpoint(parsing: bad) }
        }
    }

    static func status(member: UInt64, leader: UInt64) -> EtcdMemberStatus {
        var status = EtcdMemberStatus()
        status.memberID = member
        status.leaderID = leader
        return status
    }

    @Test("the leader is the member most members name, if it answered")
    func leaderChoice() throws {
        let a = Self.status(member: 1, leader: 2)
        let b = Self.status(member: 2, leader: 2)
        let c = Self.status(member: 3, leader: 2)
        #expect(EtcdLeaderChoice.leaderIndex(in: [a, b, c]) == 1)
        // A deposed leader that still names itself is outvoted.
        #expect(EtcdLeaderChoice.leaderIndex(in: [Self.status(member: 1, leader: 1), b, c]) == 1)
        #expect(EtcdLeaderChoice.leaderIndex(in: [a, nil, c]) == nil, "the leader named did not answer")
        #expect(EtcdLeaderChoice.leaderIndex(in: [Self.status(member: 1, leader: 0)]) == nil)
        #expect(EtcdLeaderChoice.leaderIndex(in: []) == nil)
        #expect(throws: EtcdCallError.self) {
            try EtcdLeaderChoice.leaderIndex(
                requiringEvery: [.success(b), .failure(EtcdCallError.invalidEndpoint("x"))], endpoints: ["b", "x"])
        }
        #expect(try EtcdLeaderChoice.leaderIndex(requiringEvery: [.success(a), .success(b)], endpoints: ["a", "b"]) == 1)
    }

    @Test("nothing listening: connect, prepare, findLeader and waitForLeader fail with typed errors")
    func nothingListening() async throws {
        let endpoint = "127.0.0.1:\(try LoopbackPorts.closed())"
        await #expect {
            _ = try await EtcdConnection.connect(to: endpoint, connectTimeout: .seconds(2))
        } throws: { error in
            guard case EtcdCallError.connectFailed(let failed, _) = error else { return false }
            return failed == endpoint
        }
        let system = EtcdSystem(endpoints: [endpoint])
        #expect(system.interface == "gRPC over HTTP/2 (h2c), 1 connection per member, streams multiplexed")
        await #expect(throws: EtcdCallError.self) { try await system.prepare() }
        await #expect(throws: EtcdCallError.self) { _ = try await system.makeSession(index: 0, of: 1) }
        await #expect(throws: EtcdCallError.self) { try await system.findLeader() }
        #expect(await EtcdSystem.leaderEndpoint(among: [endpoint]) == nil)
        let started = ContinuousClock.now
        await #expect(throws: EtcdCallError.self) {
            _ = try await EtcdSystem.waitForLeader(endpoints: [endpoint], timeout: .milliseconds(300))
        }
        // It gives up rather than waiting for ever; the bound is loose, because a loaded
        // machine (3.7 s seen beside simulator runs) must not fail a test of behaviour.
        #expect(ContinuousClock.now - started < .seconds(30))
        await system.endRun()
    }
}
