import Foundation

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

    init(_ configuration: NodeConfiguration) {
        dataFormat = Self.dataFormatCurrent
        memberID = configuration.memberID
        cellDepth = configuration.cellDepth
        replicas = configuration.replicas
        placementForm = configuration.placementForm.rawValue
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
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(given).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
