import ArgumentParser
import CommandSupport
import Foundation
import Keyspace
import Placement

struct LocateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locate",
        abstract: "Show where a key lives: its parts, pointer, cell and replicas.",
        discussion: """
            Computes everything locally; no server is contacted. The pointer is the
            SHA-512 of account/resource/type/primaryKey (the sort key is not hashed); the
            cell is the pointer's first --depth bits; with --members, the replicas come
            from rendezvous placement, preferred leader first.

            Examples:
              tessera locate acme/users/rnd/alice/v1
              tessera locate 'acme/orders/rnd/order%2F17' --members examples/members.json --json
            """
    )

    @Argument(help: "The key, as account/resource/type/primaryKey[/sortKey].")
    var key: String

    @Option(help: "A JSON members file: a list of {\"id\", \"address\", \"zone\", \"weight\"}.")
    var members: String?

    @Option(help: "How many replicas to show (3 or 5 in a cluster).")
    var replicas: Int = 3

    @Option(help: "Cell depth in bits: the cluster has 2^depth cells (0...64).")
    var depth: Int = 12

    @Option(help: "Placement form: hierarchical (zones, then members) or flat.")
    var placement: PlacementForm = .hierarchical

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        guard (0...CellID.depthMaximum).contains(depth) else {
            throw ValidationError("--depth must be between 0 and \(CellID.depthMaximum), got \(depth)")
        }
        guard replicas >= 1 else { throw ValidationError("--replicas must be at least 1, got \(replicas)") }
    }

    func run() throws {
        let parsed: Key
        do {
            parsed = try Key(parsing: key)
        } catch {
            throw commandFailure(error.description, status: ExitStatus.badInput)
        }
        let pointer = parsed.pointer
        let cell = CellID(containing: pointer, depth: depth)
        var replicaMembers: [Member]? = nil
        if let members {
            let list = try MembersFile.load(members)
            if list.count < replicas {
                printToStandardError("warning: \(list.count) members cannot hold \(replicas) replicas; showing \(list.count)")
            }
            replicaMembers = placement.placement(for: list).replicas(of: cell, count: replicas)
        }
        let location = Location(key: parsed, pointer: pointer, cell: cell, placement: placement, replicas: replicaMembers)
        print(json ? location.json : location.text)
    }
}

extension PlacementForm: ExpressibleByArgument {}

/// What `tessera locate` prints.
struct Location: Encodable {
    struct Cell: Encodable {
        let text: String
        let depth: Int
        let prefix: String
    }

    let key: String
    let account: String
    let resource: String
    let type: String
    let primaryKey: String
    let sortKey: String?
    let pointer: String
    let cell: Cell
    let placement: String?
    let replicas: [Member]?

    init(key: Key, pointer: Pointer, cell: CellID, placement: PlacementForm, replicas: [Member]?) {
        self.key = key.text
        account = key.account
        resource = key.resource
        type = key.type.rawValue
        primaryKey = key.primaryKeyText
        sortKey = key.sortKey.isEmpty ? nil : key.sortKeyText
        self.pointer = pointer.hex
        self.cell = Cell(text: cell.text, depth: cell.depth, prefix: String(cell.prefix, radix: 16))
        self.placement = replicas == nil ? nil : placement.rawValue
        self.replicas = replicas
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    var text: String {
        var lines = [
            "key         \(key)",
            "account     \(account)",
            "resource    \(resource)",
            "type        \(type)",
            "primaryKey  \(primaryKey)",
            "sortKey     \(sortKey ?? "(none)")",
            "pointer     \(pointer)",
            "cell        \(cell.text)  (the first \(cell.depth) bits of the pointer)",
        ]
        if let replicas, let placement {
            lines.append("replicas    \(replicas.count), \(placement) placement, preferred leader first")
            for (rank, member) in replicas.enumerated() {
                lines.append("  \(rank + 1). \(member.id)  \(member.address)  zone \(member.zone)  weight \(member.weight)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
