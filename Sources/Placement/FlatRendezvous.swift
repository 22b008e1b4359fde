import Keyspace

/// Weighted rendezvous over every member, with the zone rule.
///
/// The rule, as a walk over all members in score order: take a member if no
/// member of its zone is taken yet, until `count` are taken; if the walk ends
/// short (fewer zones than `count`), walk again taking the members left over, in
/// score order. The result is in the order taken.
///
/// Adding a member changes only the cells whose replicas now include it, and
/// removing one changes only the cells that held it (each cell's scores of the
/// other members do not change).
public struct FlatRendezvous: ReplicaPlacement {
    public let memberList: MemberList
    private let contenders: RendezvousContenders

    public init(_ memberList: MemberList) {
        self.memberList = memberList
        self.contenders = memberList.memberContenders
    }

    public func replicaIndices(of cell: CellID, count: Int) -> [Int] {
        let wanted = min(count, memberList.count)
        guard wanted > 0 else { return [] }
        let cellHash = PlacementHash.cellHash(cell)
        let zoneCount = memberList.zones.count
        // With enough zones only each zone's best can be taken; otherwise the
        // second walk may need up to `wanted` members of one zone.
        let perZone = zoneCount >= wanted ? 1 : wanted
        var zoneBests: [RankedContender] = []
        var leftovers: [RankedContender] = []
        for zone in 0..<zoneCount {
            let top = contenders.top(
                memberList.zoneRanges[zone], count: perZone, cellHash: cellHash,
                uniformWeight: memberList.zoneUniformWeight[zone])
            zoneBests.append(top[0])
            leftovers.append(contentsOf: top.dropFirst())
        }
        zoneBests.sort(by: contenders.ranksAbove)
        if zoneCount >= wanted { return zoneBests.prefix(wanted).map(\.index) }
        leftovers.sort(by: contenders.ranksAbove)
        return (zoneBests + leftovers.prefix(wanted - zoneCount)).map(\.index)
    }
}
