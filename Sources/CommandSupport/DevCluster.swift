import Client
import Credentials
import Foundation
import Placement

/// The embedded local cluster's layout on disk: `<data-dir>/dev/members.json`
/// and one folder and log per node. The CLI's default endpoint comes from it.
public struct DevCluster {
    public static let defaultDataDirectory = ".tessera"
    public static let defaultBasePort = 7101

    public let dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    public var folder: String { dataDirectory + "/dev" }
    public var membersPath: String { folder + "/members.json" }
    public func nodeFolder(_ id: String) -> String { folder + "/" + id }
    public func logPath(_ id: String) -> String { folder + "/" + id + ".log" }

    /// The members of an existing dev cluster, or nil when none was started here.
    public func existingMembers() throws -> [Member]? {
        guard FileManager.default.fileExists(atPath: membersPath) else { return nil }
        return try MembersFile.load(membersPath).members.sorted { $0.id < $1.id }
    }

    /// Writes the members file of a new dev cluster: one zone per node, consecutive ports.
    public func create(nodes: Int, basePort: Int) throws -> [Member] {
        try create(ports: (0..<nodes).map { basePort + $0 })
    }

    /// Writes the members file of a new cluster with one node per port, one zone per node.
    public func create(ports: [Int]) throws -> [Member] {
        let members = ports.enumerated().map { offset, port in
            Member(id: "node-\(offset + 1)", address: "127.0.0.1:\(port)", zone: "zone-\(offset + 1)")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(members).write(to: URL(fileURLWithPath: membersPath))
        return members
    }

    public var settingsPath: String { folder + "/settings.json" }
    /// Present while the cluster runs with `--insecure-plaintext`: its clients then use no credentials.
    public var plaintextMarkerPath: String { folder + "/" + Self.plaintextMarkerName }
    public static let plaintextMarkerName = "insecure-plaintext"

    /// The dev cluster's CA, its nodes' certificates and the CLI's client credential.
    public var credentials: CredentialFolder { CredentialFolder(path: folder + "/credentials") }
    /// Who the CLI is to a dev cluster.
    public static let clientIdentity = PeerIdentity.client("dev")

    /// Makes the dev CA (once) and a credential for each member and for the CLI.
    public func ensureCredentials(for members: [Member]) throws {
        do {
            try credentials.ensure(members.map { .member($0.id) } + [Self.clientIdentity], caName: "Tessera dev CA (\(folder))")
        } catch {
            throw commandFailure("cannot make the dev cluster's TLS credentials in \(credentials.path): \(error)", status: ExitStatus.ioError)
        }
    }

    /// Whether any of `endpoints` is a member of the dev cluster in ./.tessera.
    public static func isMember(_ endpoints: [String]) -> Bool {
        let members = (try? DevCluster(dataDirectory: defaultDataDirectory).existingMembers()) ?? nil
        let addresses = Set((members ?? []).map(\.address))
        return endpoints.contains(where: addresses.contains)
    }

    /// The CLI's credential for the dev cluster in ./.tessera, when there is one.
    public static func defaultClientCredentials() -> TLSCredentialFiles? {
        let cluster = DevCluster(dataDirectory: defaultDataDirectory)
        let files = cluster.credentials.files(for: clientIdentity)
        guard !FileManager.default.fileExists(atPath: cluster.plaintextMarkerPath) else { return nil }
        return FileManager.default.fileExists(atPath: files.certificate) ? files : nil
    }

    private struct Settings: Codable { var cellDepth: Int }

    /// The cell depth of this dev cluster: the one it was created with (saved
    /// beside its members file), or the requested one (default 12) for a new
    /// cluster. Keys map to cells by the depth, so it cannot change later.
    public func cellDepth(requested: Int?) throws -> Int {
        if let data = FileManager.default.contents(atPath: settingsPath),
            let saved = try? JSONDecoder().decode(Settings.self, from: data) {
            if let requested, requested != saved.cellDepth {
                throw commandFailure(
                    "the cluster in \(folder) was created with --cell-depth \(saved.cellDepth); it cannot change (use another --data-dir for a new cluster)",
                    status: ExitStatus.badInput)
            }
            return saved.cellDepth
        }
        let depth = requested ?? 12
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try JSONEncoder().encode(Settings(cellDepth: depth)).write(to: URL(fileURLWithPath: settingsPath), options: .atomic)
        } catch {
            throw commandFailure("cannot write \(settingsPath): \(error.localizedDescription)", status: ExitStatus.ioError)
        }
        return depth
    }

    /// Where CLI commands go without `--endpoint`: the dev cluster in ./.tessera, else its default port.
    public static func defaultEndpoints() -> [String] {
        let cluster = DevCluster(dataDirectory: defaultDataDirectory)
        if let members = try? cluster.existingMembers(), !members.isEmpty { return members.map(\.address) }
        return ["127.0.0.1:\(defaultBasePort)"]
    }
}
