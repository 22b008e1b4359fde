import Cell
import Keyspace
import Placement
import Wire

/// The cluster as this node sees it: members, their consensus ids, and which
/// cells it hosts. Every node computes the same layout from the same members
/// file, so no table of cells is stored anywhere.
struct ClusterLayout: Sendable {
    let memberList: MemberList
    let placement: any ReplicaPlacement
    let configuration: NodeConfiguration
    /// This node's consensus id: its index in the sorted member list.
    let me: NodeID
    /// Nodes that must agree on placement to talk: XXH64 of members, depth and replicas.
    let fingerprint: UInt64
    /// Consensus id by member id (start-up places every cell: no linear search per replica).
    private let nodeIDs: [String: NodeID]

    init(_ configuration: NodeConfiguration) throws(NodeConfigurationError) {
        guard (0...20).contains(configuration.cellDepth) else { throw .badDepth(configuration.cellDepth) }
        guard [1, 3, 5].contains(configuration.replicas) else { throw .badReplicas(configuration.replicas) }
        do {
            memberList = try MemberList(configuration.members)
        } catch {
            throw .placement(error)
        }
        guard let index = memberList.members.firstIndex(where: { $0.id == configuration.memberID }) else {
            throw .unknownMember(configuration.memberID, known: memberList.members.map(\.id))
        }
        self.configuration = configuration
        me = NodeID(UInt32(index))
        nodeIDs = Dictionary(uniqueKeysWithValues: memberList.members.enumerated().map { ($0.element.id, NodeID(UInt32($0.offset))) })
        placement = configuration.placementForm.placement(for: memberList)
        var description = "depth=\(configuration.cellDepth);replicas=\(configuration.replicas);form=\(configuration.placementForm.rawValue)"
        for member in memberList.members {
            description += ";\(member.id)@\(member.address)/\(member.zone)/\(member.weight)"
        }
        fingerprint = XXH64.hash(Array(description.utf8), seed: 0)
    }

    var memberCount: Int { memberList.members.count }

    func member(_ node: NodeID) -> Member { memberList.members[Int(node.rawValue)] }

    func nodeID(of memberID: String) -> NodeID? { nodeIDs[memberID] }

    func cellID(_ prefix: UInt64) -> CellID? { CellID(depth: configuration.cellDepth, prefix: prefix) }

    func cell(of key: Key) -> UInt64 { CellID(containing: key.pointer, depth: configuration.cellDepth).prefix }

    /// The replicas of a cell, as consensus ids, in placement order.
    func replicas(of cell: UInt64) -> [NodeID] {
        guard let id = cellID(cell) else { return [] }
        return placement.replicas(of: id, count: configuration.replicas).map { nodeIDs[$0.id]! }
    }

    var clusterInfo: ClusterInfo {
        ClusterInfo(
            members: memberList.members.map { .init(id: $0.id, address: $0.address, zone: $0.zone, weight: $0.weight) },
            cellDepth: UInt8(configuration.cellDepth), replicas: UInt8(configuration.replicas),
            placementForm: configuration.placementForm.rawValue)
    }
}
