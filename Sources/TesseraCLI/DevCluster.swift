import Foundation
import Placement

/// The embedded local cluster's layout on disk: `<data-dir>/dev/members.json`
/// and one folder and log per node. The CLI's default endpoint comes from it.
struct DevCluster {
    static let defaultDataDirectory = ".tessera"
    static let defaultBasePort = 7101

    let dataDirectory: String

    var folder: String { dataDirectory + "/dev" }
    var membersPath: String { folder + "/members.json" }
    func nodeFolder(_ id: String) -> String { folder + "/" + id }
    func logPath(_ id: String) -> String { folder + "/" + id + ".log" }

    /// The members of an existing dev cluster, or nil when none was started here.
    func existingMembers() throws -> [Member]? {
        guard FileManager.default.fileExists(atPath: membersPath) else { return nil }
        return try MembersFile.load(membersPath).members.sorted { $0.id < $1.id }
    }

    /// Writes the members file of a new dev cluster: one zone per node, consecutive ports.
    func create(nodes: Int, basePort: Int) throws -> [Member] {
        let members = (1...nodes).map { index in
            Member(id: "node-\(index)", address: "127.0.0.1:\(basePort + index - 1)", zone: "zone-\(index)")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(members).write(to: URL(fileURLWithPath: membersPath))
        return members
    }

    /// Where CLI commands go without `--endpoint`: the dev cluster in ./.tessera, else its default port.
    static func defaultEndpoints() -> [String] {
        let cluster = DevCluster(dataDirectory: defaultDataDirectory)
        if let members = try? cluster.existingMembers(), !members.isEmpty { return members.map(\.address) }
        return ["127.0.0.1:\(defaultBasePort)"]
    }
}
