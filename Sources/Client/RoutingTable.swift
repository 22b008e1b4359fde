import Keyspace
import Placement
import Wire

/// Where every cell lives, computed from a node's ``ClusterInfo``: key →
/// pointer → cell → replicas, with no lookup table (rendezvous placement).
struct RoutingTable: Sendable {
    let info: ClusterInfo
    let depth: Int
    let replicaCount: Int
    let placement: any ReplicaPlacement
    private let membersByID: [String: Member]
    private let endpointsByID: [String: Endpoint]

    init(_ info: ClusterInfo) throws(TesseraClientError) {
        guard let form = PlacementForm(rawValue: info.placementForm) else {
            let known = PlacementForm.allCases.map(\.rawValue).joined(separator: ", ")
            throw .protocolError("the cluster uses placement form \"\(info.placementForm)\", which this client does not know (known: \(known))")
        }
        guard Int(info.cellDepth) <= CellID.depthMaximum else {
            throw .protocolError("the cluster reports cell depth \(info.cellDepth); at most \(CellID.depthMaximum) is possible")
        }
        guard info.replicas >= 1 else {
            throw .protocolError("the cluster reports a replica count of 0")
        }
        var endpoints: [String: Endpoint] = [:]
        for member in info.members {
            guard let endpoint = Endpoint(member.address) else {
                throw .protocolError("member \(member.id) has address \"\(member.address)\", which is not HOST:PORT")
            }
            endpoints[member.id] = endpoint
        }
        let members = info.members.map { Member(id: $0.id, address: $0.address, zone: $0.zone, weight: $0.weight) }
        let list: MemberList
        do {
            list = try MemberList(members)
        } catch {
            throw .protocolError("the cluster's member list is invalid: \(error)")
        }
        self.info = info
        depth = Int(info.cellDepth)
        replicaCount = Int(info.replicas)
        placement = form.placement(for: list)
        membersByID = Dictionary(uniqueKeysWithValues: members.map { ($0.id, $0) })
        endpointsByID = endpoints
    }

    func cell(of pointer: Pointer) -> CellID {
        CellID(containing: pointer, depth: depth)
    }

    func cell(of key: Key) -> CellID {
        cell(of: key.pointer)
    }

    /// Member ids of the cell's replicas, preferred leader first.
    func replicas(of cell: CellID) -> [String] {
        placement.replicas(of: cell, count: replicaCount).map(\.id)
    }

    func member(_ id: String) -> Member? { membersByID[id] }

    func endpoint(of id: String) -> Endpoint? { endpointsByID[id] }

    /// Member ids in the order the node listed them.
    var memberIDs: [String] { info.members.map(\.id) }

    /// Whether `other` places every cell as this one does (then cached leaders stay valid).
    func placesLike(_ other: RoutingTable) -> Bool {
        info == other.info
    }
}
