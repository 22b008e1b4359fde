import Foundation
import Keyspace
import Placement
import Testing

/// Checks placement against vectors from an independent implementation
/// (scripts/generate-test-vectors.py), which follows the spec literally.
struct PlacementVectorTests {
    struct Vectors: Decodable {
        struct Hash: Decodable { let input: String; let seed: UInt64; let hash: String }
        struct Case: Decodable {
            let members, cell: String
            let replicas: Int
            let flat, hierarchical: [String]
        }
        let xxh64: [Hash]
        let memberSets: [String: [Member]]
        let cases: [Case]
    }

    static let vectors: Vectors = {
        let url = Bundle.module.url(forResource: "placement", withExtension: "json", subdirectory: "Vectors")!
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    @Test func xxh64MatchesTheReference() {
        #expect(XXH64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        for vector in Self.vectors.xxh64 {
            #expect(String(XXH64.hash(Array(vector.input.utf8), seed: vector.seed), radix: 16).leftPadded(16) == vector.hash)
        }
    }

    @Test func replicasMatchTheVectors() throws {
        #expect(Self.vectors.cases.count >= 30)
        for vector in Self.vectors.cases {
            let list = try MemberList(Self.vectors.memberSets[vector.members]!)
            let cell = try #require(CellID(text: vector.cell))
            #expect(FlatRendezvous(list).replicas(of: cell, count: vector.replicas).map(\.id) == vector.flat,
                    "flat \(vector.members) \(vector.cell) R=\(vector.replicas)")
            #expect(HierarchicalRendezvous(list).replicas(of: cell, count: vector.replicas).map(\.id) == vector.hierarchical,
                    "hierarchical \(vector.members) \(vector.cell) R=\(vector.replicas)")
        }
    }

    @Test func badMemberListsAreRejectedWithTheMemberNamed() {
        #expect(throws: PlacementError.emptyMemberList) { try MemberList([]) }
        #expect(throws: PlacementError.duplicateMemberID("a")) {
            try MemberList([Member(id: "a", address: "x:1"), Member(id: "a", address: "x:2")])
        }
        #expect(throws: PlacementError.invalidWeight(memberID: "a", weight: 0)) {
            try MemberList([Member(id: "a", address: "x:1", weight: 0)])
        }
        #expect(throws: PlacementError.emptyZone(memberID: "a")) { try MemberList([Member(id: "a", address: "x:1", zone: "")]) }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
