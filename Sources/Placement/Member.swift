/// A node of the cluster, as placement sees it.
public struct Member: Hashable, Sendable, Codable {
    /// Unique, stable name of the node; placement hashes it, so renaming a node moves its cells.
    public var id: String
    /// Where the node listens, `host:port`.
    public var address: String
    /// Failure domain (availability zone, rack): replicas of a cell go to distinct zones while zones allow.
    public var zone: String
    /// Relative capacity: a member of weight 2 gets twice the cells of a member of weight 1.
    public var weight: Double

    public static let defaultZone = "default"

    public init(id: String, address: String, zone: String = Member.defaultZone, weight: Double = 1) {
        self.id = id
        self.address = address
        self.zone = zone
        self.weight = weight
    }

    private enum CodingKeys: String, CodingKey { case id, address, zone, weight }

    /// `zone` and `weight` may be left out of a members file: they default to `"default"` and 1.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        address = try container.decode(String.self, forKey: .address)
        zone = try container.decodeIfPresent(String.self, forKey: .zone) ?? Member.defaultZone
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
    }
}

/// Why a member list was rejected.
public enum PlacementError: Error, Hashable, Sendable, CustomStringConvertible {
    case emptyMemberList
    case emptyMemberID(index: Int)
    case duplicateMemberID(String)
    case emptyZone(memberID: String)
    case invalidWeight(memberID: String, weight: Double)

    public var description: String {
        switch self {
        case .emptyMemberList:
            "member list is empty: placement needs at least one member"
        case .emptyMemberID(let index):
            "member #\(index + 1) has an empty id"
        case .duplicateMemberID(let id):
            "member id \(id.debugDescription) appears more than once: ids must be unique"
        case .emptyZone(let memberID):
            "member \(memberID.debugDescription) has an empty zone"
        case .invalidWeight(let memberID, let weight):
            "member \(memberID.debugDescription) has weight \(weight): a weight must be a finite number above 0"
        }
    }
}
