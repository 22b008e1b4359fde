import ArgumentParser
import Client
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
            return Self.outcome(try await client.put(key, value: value, condition: Self.condition(condition)))
        } catch {
            throw ClusterStore.failure(error, write: true)
        }
    }

    func delete(_ key: Key, condition: Storage.WriteCondition) async throws -> WriteOutcome {
        do {
            return Self.outcome(try await client.delete(key, condition: Self.condition(condition)))
        } catch {
            throw ClusterStore.failure(error, write: true)
        }
    }

    func get(_ key: Key) async throws -> Item? {
        do {
            return try await client.get(key, consistency: consistency).map(Self.item)
        } catch {
            throw ClusterStore.failure(error, write: false)
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
            throw ClusterStore.failure(error, write: false)
        }
    }

    static func condition(_ condition: Storage.WriteCondition) -> Client.WriteCondition {
        switch condition {
        case .none: .none
        case .mustNotExist: .absent
        case .mustExist: .exists
        case .versionEquals(let version): .versionEquals(version)
        case .valueEquals(let value): .valueEquals(value)
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
        endpoints: [String], isDefault: Bool, consistency: ConsistencyLevel,
        _ body: (any ItemStore) async throws -> Result
    ) async throws -> Result {
        let client = try await connect(endpoints: endpoints, isDefault: isDefault)
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

    /// A client for `endpoints`. When every endpoint refuses connections it fails at
    /// once (rather than after the client's deadline) and says how to start a cluster.
    static func connect(
        endpoints: [String], isDefault: Bool, options: ClientOptions = ClientOptions()
    ) async throws -> TesseraClient {
        let verdicts = endpoints.map { ($0, NodeProbe.check($0)) }
        if !verdicts.isEmpty && verdicts.allSatisfy({ $0.1 != .mayAnswer }) {
            let refused = verdicts.filter { $0.1 == .refused }.map(\.0)
            var problems: [String] = []
            if !refused.isEmpty { problems.append(noNodeMessage(refused, isDefault: isDefault)) }
            for case let (endpoint, .unresolvable(reason)) in verdicts {
                problems.append("cannot resolve the host of \(endpoint): \(reason)")
            }
            throw commandFailure(problems.joined(separator: "; "), status: ExitStatus.unavailable)
        }
        do {
            return try await TesseraClient(endpoints: endpoints, options: options)
        } catch {
            throw failure(error, write: false)
        }
    }

    static func noNodeMessage(_ endpoints: [String], isDefault: Bool) -> String {
        let places: String =
            switch endpoints.count {
            case 1: endpoints[0]
            case 2: "\(endpoints[0]) or \(endpoints[1])"
            default: endpoints.dropLast().joined(separator: ", ") + " or " + endpoints[endpoints.count - 1]
            }
        return isDefault
            ? "no Tessera node at \(places): start one with `tessera dev`"
            : "no Tessera node at \(places) (connection refused): check --endpoint, or start a local cluster with `tessera dev`"
    }

    /// The exit to throw for an error from the client; other errors (an `ExitCode`
    /// already reported, a `ValidationError`) pass through unchanged. For a write, the
    /// message says whether it may have been applied.
    static func failure(_ error: any Error, write: Bool) -> any Error {
        guard let error = error as? TesseraClientError else { return error }
        func withOutcome(_ text: String, mayHaveApplied: Bool) -> String {
            guard write, !text.contains("outcome is unknown"), !text.contains("was not applied") else { return text }
            return text + (mayHaveApplied
                ? "; the write's outcome is unknown (it may have been applied: read the key to find out)"
                : "; the write was not applied")
        }
        switch error {
        case .badRequest(let message):
            return commandFailure(message, status: ExitStatus.badInput)
        case .timeout, .unavailable:
            return commandFailure(withOutcome(error.description, mayHaveApplied: error.writeMayHaveApplied),
                                  status: ExitStatus.unavailable)
        case .outcomeUnknown:
            return commandFailure(withOutcome(error.description, mayHaveApplied: true), status: ExitStatus.unavailable)
        case .internalError:
            return commandFailure(withOutcome(error.description, mayHaveApplied: true), status: ExitStatus.ioError)
        case .protocolError:
            return commandFailure(error.description, status: ExitStatus.protocolError)
        }
    }
}
