import ArgumentParser
import Client
import CommandSupport
import Foundation
import Keyspace
import Storage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A cluster behind the data commands' shared protocol: one `TesseraClient` per command.
struct ClusterItemStore: ItemStore {
    let client: TesseraClient
    let consistency: ReadConsistency

    func put(_ key: Key, value: [UInt8], condition: Storage.WriteCondition) async throws -> WriteOutcome {
        do {
            return Self.outcome(try await client.put(key, value: value, condition: condition))
        } catch {
            throw ClusterConnection.failure(error, write: true)
        }
    }

    func delete(_ key: Key, condition: Storage.WriteCondition) async throws -> WriteOutcome {
        do {
            return Self.outcome(try await client.delete(key, condition: condition))
        } catch {
            throw ClusterConnection.failure(error, write: true)
        }
    }

    func get(_ key: Key) async throws -> Item? {
        do {
            return try await client.get(key, consistency: consistency).map(Self.item)
        } catch {
            throw ClusterConnection.failure(error, write: false)
        }
    }

    func query(_ collection: Key, _ range: QueryRange) async throws -> ItemPage {
        do {
            let result = try await client.query(
                collection, from: range.from, to: range.to, reverse: range.reverse, limit: range.limit,
                after: range.continuation?.lastSortKey, consistency: consistency)
            return ItemPage(
                items: result.items.map(Self.item),
                continuation: result.continuation.map { ContinuationToken(resumingAfter: $0) })
        } catch {
            throw ClusterConnection.failure(error, write: false)
        }
    }

    static func outcome(_ result: WriteResult) -> WriteOutcome {
        switch result {
        case .written(let version): .applied(version: version)
        case .conditionFailed(_, let currentVersion): .conditionFailed(currentVersion: currentVersion)
        }
    }

    static func item(_ item: ClientItem) -> Item {
        Item(sortKey: item.sortKey, version: item.version, value: item.value)
    }
}

/// Connecting to a cluster, and turning what goes wrong into exit statuses.
enum ClusterStore {
    /// Connects to the cluster at `endpoints`, runs `body` with it and closes the client whatever happens.
    static func with<Result>(
        endpoints: [String], isDefault: Bool, options: ClientOptions, consistency: ConsistencyLevel, isWrite: Bool,
        _ body: (any ItemStore) async throws -> Result
    ) async throws -> Result {
        let client = try await ClusterConnection.connect(endpoints: endpoints, isDefault: isDefault, options: options, isWrite: isWrite)
        let store = ClusterItemStore(client: client, consistency: consistency == .strong ? .strong : .eventual)
        do {
            let result = try await body(store)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }
}
