import Keyspace
import Placement
import Testing
import Wire

@testable import Server

/// What a user can store: a value at the documented limit is accepted with any key.
@Suite struct RequestLimitTests {
    static func layout() throws -> ClusterLayout {
        let members = [Member(id: "node-1", address: "127.0.0.1:1", zone: "a")]
        var configuration = NodeConfiguration(memberID: "node-1", listenAddress: "127.0.0.1:1", members: members, dataDirectory: "/nonexistent")
        configuration.replicas = 1
        configuration.cellDepth = 4
        return try ClusterLayout(configuration)
    }

    static func put(_ key: String, bytes: Int) -> ClientRequest.Body {
        .write(clientID: 1, sequence: 1, acknowledgedBelow: 0, writes: [WireWrite(key: key, value: [UInt8](repeating: 7, count: bytes))])
    }

    @Test func aValueAtTheLimitFitsWithTheLongestKey() throws {
        let layout = try Self.layout()
        let primaryKey = String(repeating: "p", count: 2048)
        let sortKey = String(repeating: "s", count: 1024)
        let key = "\(String(repeating: "a", count: 64))/\(String(repeating: "r", count: 255))/rnd/\(primaryKey)/\(sortKey)"
        guard case .success = layout.parse(Self.put(key, bytes: ClusterLimits.valueBytesMaximum)) else {
            Issue.record("a value of exactly \(ClusterLimits.valueBytesMaximum) bytes was refused")
            return
        }
        guard case .failure(let failure) = layout.parse(Self.put(key, bytes: ClusterLimits.valueBytesMaximum + 1)) else {
            Issue.record("a value one byte over the limit was accepted")
            return
        }
        #expect("\(failure)".contains("\(ClusterLimits.valueBytesMaximum)"))
    }

    @Test func aValueAtTheLimitFitsWithTheLongestEscapedKey() throws {
        // Every byte of the primary key escaped (its canonical text is three times as long), and a full sort key.
        let layout = try Self.layout()
        let key = "\(String(repeating: "a", count: 64))/\(String(repeating: "r", count: 255))/rnd/"
            + String(repeating: "%2F", count: 2048) + "/" + String(repeating: "%01", count: 1024)
        guard case .success = layout.parse(Self.put(key, bytes: ClusterLimits.valueBytesMaximum)) else {
            Issue.record("the longest escaped key pushed a value at the limit over the request limit")
            return
        }
    }
}
