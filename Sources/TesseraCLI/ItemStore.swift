import ArgumentParser
import CommandSupport
import Foundation
import Keyspace
import Storage
import Wire

// Where `put`, `get`, `delete`, `query` and `cas` go: the local embedded store
// (`--data-dir`, LocalStore.swift) or a cluster (`--endpoint`, ClusterStore.swift).
// Both speak Storage's vocabulary (WriteCondition, WriteOutcome, Item, QueryRange),
// so each command is written once and prints the same formats on both paths.

/// The operations the data commands need, on the local store or a cluster.
protocol ItemStore: Sendable {
    func put(_ key: Key, value: [UInt8], condition: WriteCondition) async throws -> WriteOutcome
    func delete(_ key: Key, condition: WriteCondition) async throws -> WriteOutcome
    func get(_ key: Key) async throws -> Item?
    func query(_ collection: Key, _ range: QueryRange) async throws -> ItemPage
}

/// One page of a query, on either path.
struct ItemPage: Sendable {
    var items: [Item]
    /// Present when more items match: print it for `--after`.
    var continuation: ContinuationToken?
}

extension ContinuationToken {
    /// The token that resumes after `sortKey` (`k` + lowercase hex, as the local store writes it).
    init(resumingAfter sortKey: [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        var text = "k"
        text.unicodeScalars.reserveCapacity(1 + 2 * sortKey.count)
        for byte in sortKey {
            text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
            text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 0x0F)]))
        }
        try! self.init(text: text)
    }
}

/// `--data-dir` (the local embedded store) or `--endpoint` (a cluster, the default).
struct StoreOptions: ParsableArguments {
    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "Use the local embedded store in this folder (such as .tessera/local) instead of a cluster; a write creates it.",
            valueName: "dir"))
    var dataDirectory: String?

    @OptionGroup var endpoint: EndpointOptions

    func validate() throws {
        if dataDirectory != nil && !endpoint.given.isEmpty {
            throw ValidationError("--data-dir (the local store) and --endpoint (a cluster) exclude each other: give one")
        }
    }

    /// Opens the store these options name, runs `body` with it and closes it whatever happens.
    /// `creating`: a missing local data directory is created rather than an error.
    /// `consistency`: for reads from a cluster; with `--data-dir` it is a usage error.
    func with<Result>(
        creating: Bool, consistency: ConsistencyLevel? = nil, isWrite: Bool = false,
        _ body: (any ItemStore) async throws -> Result
    ) async throws -> Result {
        if let path = dataDirectory {
            if consistency != nil {
                throw commandFailure(
                    "--consistency applies to a cluster; the local store (--data-dir) always reads its latest write",
                    status: ExitStatus.badInput)
            }
            return try await LocalStore.with(path, creating: creating) { store in
                try await body(LocalItemStore(store: store))
            }
        }
        let (endpoints, isDefault) = endpoint.resolved
        return try await ClusterStore.with(
            endpoints: endpoints, isDefault: isDefault, options: try endpoint.clientOptions(), consistency: consistency ?? .strong,
            isWrite: isWrite, body)
    }
}

/// `--consistency` of `get` and `query`.
enum ConsistencyLevel: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// From the cell's leader: sees every acknowledged write.
    case strong
    /// From any replica: may miss the latest writes.
    case eventual
}

struct ConsistencyOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "strong (from the cell's leader: sees every acknowledged write) or eventual (any replica; may miss the latest writes). Cluster only; default strong.",
            valueName: "level"))
    var consistency: ConsistencyLevel?

    /// What a cluster read asks for (strong unless eventual was given).
    var readConsistency: ReadConsistency { consistency == .eventual ? .eventual : .strong }
}

/// The local embedded store behind the shared protocol.
struct LocalItemStore: ItemStore {
    let store: Store

    func put(_ key: Key, value: [UInt8], condition: WriteCondition) async throws -> WriteOutcome {
        try await store.put(key, value: value, condition: condition)
    }

    func delete(_ key: Key, condition: WriteCondition) async throws -> WriteOutcome {
        try await store.delete(key, condition: condition)
    }

    func get(_ key: Key) async throws -> Item? {
        try await store.get(key)
    }

    func query(_ collection: Key, _ range: QueryRange) async throws -> ItemPage {
        let page = try await store.query(collection, range)
        return ItemPage(items: page.items, continuation: page.continuation)
    }
}
