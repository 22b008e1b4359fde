import Foundation
import Placement

/// What a data directory was created with. Keys map to cells by the cell depth
/// and to replicas by the replica count and placement form: a node restarted
/// on the same data with other values would not find its data, so it refuses.
struct NodeIdentity: Codable, Equatable {
    /// The on-disk format this build writes. 1 (absent from `node.json`): cell
    /// logs as store items; 2: cell logs in the store's WAL.
    static let dataFormatCurrent = 2

    var dataFormat: Int?
    var memberID: String
    var cellDepth: Int
    var replicas: Int
    var placementForm: String
    /// The members the data was written with, in consensus-id order (a
    /// replica's votes and its cells' replica sets name members by that id).
    /// Absent from folders written before it was recorded: the first start
    /// with this build records the members it is given.
    var members: [RecordedMember]?

    /// What of a member its node's data depends on: its id names it in votes
    /// and replica sets; its zone and weight decide which cells it holds.
    /// (Its address may change.)
    struct RecordedMember: Codable, Equatable {
        var id: String
        var zone: String
        var weight: Double
    }

    init(_ configuration: NodeConfiguration) {
        dataFormat = Self.dataFormatCurrent
        memberID = configuration.memberID
        cellDepth = configuration.cellDepth
        replicas = configuration.replicas
        placementForm = configuration.placementForm.rawValue
        // In the member list's order: a member's consensus id is its place in it.
        let ordered = (try? MemberList(configuration.members).members) ?? configuration.members
        members = ordered.map { RecordedMember(id: $0.id, zone: $0.zone, weight: $0.weight) }
    }

    static func path(in dataDirectory: String) -> String { dataDirectory + "/node.json" }

    /// Records the identity on first start; afterwards checks that it is unchanged.
    static func check(_ configuration: NodeConfiguration) throws {
        let path = path(in: configuration.dataDirectory)
        let given = NodeIdentity(configuration)
        if let data = FileManager.default.contents(atPath: path) {
            let stored: NodeIdentity
            do {
                stored = try JSONDecoder().decode(NodeIdentity.self, from: data)
            } catch {
                throw NodeConfigurationError.dataDirectory(path, "is not readable as a node identity: \(error)")
            }
            let format = stored.dataFormat ?? 1
            guard format == Self.dataFormatCurrent else {
                throw NodeConfigurationError.unsupportedDataFormat(
                    configuration.dataDirectory, found: format, supported: Self.dataFormatCurrent)
            }
            for (name, old, new) in [
                ("node id", stored.memberID, given.memberID), ("cell depth", "\(stored.cellDepth)", "\(given.cellDepth)"),
                ("replica count", "\(stored.replicas)", "\(given.replicas)"),
                ("placement form", stored.placementForm, given.placementForm),
            ] where old != new {
                throw NodeConfigurationError.dataDirectory(
                    configuration.dataDirectory, "was created with \(name) \(old), not \(new); start the node with \(name) \(old)")
            }
            guard let recorded = stored.members else {
                // Written before members were recorded: from now on, these are the members.
                return try record(given, at: path)
            }
            if let change = Self.membershipChange(from: recorded, to: given.members ?? []) {
                throw NodeConfigurationError.membersChanged(configuration.dataDirectory, change)
            }
            return
        }
        try record(given, at: path)
    }

    private static func record(_ identity: NodeIdentity, at path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(identity).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// What changed in the member list in a way the node's data cannot follow, or nil.
    static func membershipChange(from recorded: [RecordedMember], to given: [RecordedMember]) -> String? {
        let old = Dictionary(recorded.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let new = Dictionary(given.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var changes: [String] = []
        let added = given.map(\.id).filter { old[$0] == nil }
        let removed = recorded.map(\.id).filter { new[$0] == nil }
        if !added.isEmpty { changes.append("added \(added.joined(separator: ", "))") }
        if !removed.isEmpty { changes.append("removed \(removed.joined(separator: ", "))") }
        for member in recorded {
            guard let now = new[member.id] else { continue }
            if now.zone != member.zone { changes.append("moved \(member.id) from zone \(member.zone) to \(now.zone)") }
            if now.weight != member.weight { changes.append("changed \(member.id)'s weight from \(member.weight) to \(now.weight)") }
        }
        return changes.isEmpty ? nil : changes.joined(separator: "; ")
    }

}
