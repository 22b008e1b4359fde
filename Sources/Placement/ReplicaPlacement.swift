import Keyspace

/// Picks the replicas of a cell from a member list.
public protocol ReplicaPlacement: Sendable {
    var memberList: MemberList { get }
    /// Indices into `memberList.members` of the cell's replicas, preferred leader
    /// first; fewer than `count` only when there are fewer members.
    func replicaIndices(of cell: CellID, count: Int) -> [Int]
}

extension ReplicaPlacement {
    /// The cell's replicas, preferred leader first.
    public func replicas(of cell: CellID, count: Int) -> [Member] {
        replicaIndices(of: cell, count: count).map { memberList.members[$0] }
    }
}

/// The two forms of placement: both follow the same hash spec (``PlacementHash``).
public enum PlacementForm: String, Sendable, CaseIterable, Codable {
    /// Every member scored for every cell: exact minimal movement, O(members) per cell.
    case flat
    /// Zones first, then members of the chosen zones: O(zones + R × members per zone) per cell.
    case hierarchical

    public func placement(for memberList: MemberList) -> any ReplicaPlacement {
        switch self {
        case .flat: FlatRendezvous(memberList)
        case .hierarchical: HierarchicalRendezvous(memberList)
        }
    }
}

extension MemberList {
    var memberContenders: RendezvousContenders {
        RendezvousContenders(hashes: memberHashes, weights: memberWeights, idBytes: memberIDBytes)
    }

    var zoneContenders: RendezvousContenders {
        RendezvousContenders(hashes: zoneHashes, weights: zoneWeights, idBytes: zones.map { Array($0.utf8) })
    }
}
