/// A validated set of members, with the hashes placement needs precomputed.
///
/// Members are kept sorted by (zone, id) so that every input order of the same
/// set gives the same placement.
public struct MemberList: Sendable {
    /// The members, sorted by zone, then id (bytewise).
    public let members: [Member]
    /// The zones, sorted by name (bytewise); `zoneRanges[z]` are the indices of its members.
    public let zones: [String]
    let zoneRanges: [Range<Int>]
    let zoneWeights: [Double]
    let zoneHashes: [UInt64]
    let memberHashes: [UInt64]
    let memberWeights: [Double]
    let memberIDBytes: [[UInt8]]
    /// Indices of zones whose members all have one weight: placement can skip most logarithms there.
    let zoneUniformWeight: [Double?]

    public init(_ unsorted: [Member]) throws(PlacementError) {
        if unsorted.isEmpty { throw .emptyMemberList }
        var seen = Set<String>()
        for (index, member) in unsorted.enumerated() {
            if member.id.isEmpty { throw .emptyMemberID(index: index) }
            if !seen.insert(member.id).inserted { throw .duplicateMemberID(member.id) }
            if member.zone.isEmpty { throw .emptyZone(memberID: member.id) }
            if !(member.weight.isFinite && member.weight > 0) {
                throw .invalidWeight(memberID: member.id, weight: member.weight)
            }
        }
        let sorted = unsorted.sorted { lhs, rhs in
            if lhs.zone != rhs.zone { return lhs.zone.utf8.lexicographicallyPrecedes(rhs.zone.utf8) }
            return lhs.id.utf8.lexicographicallyPrecedes(rhs.id.utf8)
        }
        members = sorted
        memberIDBytes = sorted.map { Array($0.id.utf8) }
        memberHashes = memberIDBytes.map { PlacementHash.memberHash(idBytes: $0) }
        memberWeights = sorted.map(\.weight)

        var zones: [String] = []
        var ranges: [Range<Int>] = []
        var start = 0
        for index in 1...sorted.count where index == sorted.count || sorted[index].zone != sorted[start].zone {
            zones.append(sorted[start].zone)
            ranges.append(start..<index)
            start = index
        }
        self.zones = zones
        zoneRanges = ranges
        zoneWeights = ranges.map { range in range.reduce(0) { $0 + sorted[$1].weight } }
        zoneHashes = zones.map { PlacementHash.zoneHash(Array($0.utf8)) }
        zoneUniformWeight = ranges.map { range in
            let first = sorted[range.lowerBound].weight
            return range.allSatisfy { sorted[$0].weight == first } ? first : nil
        }
    }

    public var count: Int { members.count }
}
