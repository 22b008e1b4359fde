import Keyspace

/// Rendezvous in two steps: zones, then members of each chosen zone.
///
/// Step 1 ranks zones by weighted rendezvous (zone hash, zone weight = the sum of
/// its members' weights). Step 2 takes, in each of the best `count` zones, the
/// member with the best weighted rendezvous score within that zone. With fewer
/// zones than `count`, rounds go through the zones in rank order taking each
/// zone's next best member, until `count` are taken.
///
/// Cost per cell: O(zones + count × members per zone) instead of O(members).
/// The first replica is member m with probability weight(m) / total weight, as
/// in the flat form. Movement: when replicas span every zone (zones = count),
/// a join or leave moves exactly the cells that gain or lose that member, as
/// the flat form does; with more zones than replicas, the zone's change of
/// weight also moves some cells between zones (see README "Placement").
public struct HierarchicalRendezvous: ReplicaPlacement {
    public let memberList: MemberList
    private let members: RendezvousContenders
    private let zones: RendezvousContenders
    private let zonesUniformWeight: Double?

    public init(_ memberList: MemberList) {
        self.memberList = memberList
        self.members = memberList.memberContenders
        self.zones = memberList.zoneContenders
        let first = memberList.zoneWeights[0]
        self.zonesUniformWeight = memberList.zoneWeights.allSatisfy { $0 == first } ? first : nil
    }

    public func replicaIndices(of cell: CellID, count: Int) -> [Int] {
        let wanted = min(count, memberList.count)
        guard wanted > 0 else { return [] }
        let cellHash = PlacementHash.cellHash(cell)
        let zoneCount = memberList.zones.count
        let rankedZones = zones.top(
            0..<zoneCount, count: min(wanted, zoneCount), cellHash: cellHash, uniformWeight: zonesUniformWeight)
        if zoneCount >= wanted {
            return rankedZones.map { zone in
                members.top(
                    memberList.zoneRanges[zone.index], count: 1, cellHash: cellHash,
                    uniformWeight: memberList.zoneUniformWeight[zone.index])[0].index
            }
        }
        let perZone = rankedZones.map { zone in
            members.top(
                memberList.zoneRanges[zone.index], count: wanted, cellHash: cellHash,
                uniformWeight: memberList.zoneUniformWeight[zone.index])
        }
        var chosen: [Int] = []
        var round = 0
        while chosen.count < wanted {
            for zoneTop in perZone where round < zoneTop.count && chosen.count < wanted {
                chosen.append(zoneTop[round].index)
            }
            round += 1
        }
        return chosen
    }
}
