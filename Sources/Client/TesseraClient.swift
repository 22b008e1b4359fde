import Keyspace
import NIOCore
import NIOPosix
import Synchronization
import Wire

/// A connection to a Tessera cluster. It routes each call by itself — key →
/// pointer → cell → replicas — to the cell's leader (cached per cell,
/// corrected by redirects), retries on other replicas with backoff, and gives
/// up at the call's deadline. One instance is meant to be shared by the whole
/// process: it is safe to call from any number of tasks at once.
///
/// Writes are idempotent on retry: each carries this client's id and a
/// sequence number, and the cell applies a (client, sequence) once.
public final class TesseraClient: Sendable {
    /// The most writes one ``write(_:)`` batch may carry.
    public static let batchWritesMaximum = 100

    public let options: ClientOptions
    /// The id this client's writes carry (see ``ClientOptions/clientID``).
    public let clientID: UInt64

    let pool: ConnectionPool
    let router: Router
    let seeds: [Endpoint]
    let sequences = SequenceTracker()
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let closed = Mutex(false)

    /// Connects to the first of `endpoints` (`host:port` seeds) that answers,
    /// learns the cluster's members and placement from it, and is then ready
    /// to route calls to any node. Fails with ``TesseraClientError/badRequest(_:)``
    /// for a malformed endpoint and ``TesseraClientError/timeout(_:outcomeUnknown:)``
    /// when no seed answers within `options.deadline`.
    ///
    /// - Parameter eventLoopGroup: the group to run connections on; when `nil`
    ///   the client makes its own (`options.eventLoopThreads` threads) and
    ///   shuts it down in ``close()``.
    public init(endpoints: [String], options: ClientOptions = ClientOptions(),
                eventLoopGroup: (any EventLoopGroup)? = nil) async throws {
        guard !endpoints.isEmpty else {
            throw TesseraClientError.badRequest("no endpoints given: pass at least one HOST:PORT of a node")
        }
        var seeds: [Endpoint] = []
        for text in endpoints {
            guard let endpoint = Endpoint(text.trimmingWhitespace) else {
                throw TesseraClientError.badRequest(
                    "endpoint \"\(text)\" is not HOST:PORT (port 1-65535; an IPv6 host goes in brackets: [::1]:7000)")
            }
            if !seeds.contains(endpoint) { seeds.append(endpoint) }
        }
        var options = options
        if options.tls == nil, options.accessKey == nil, options.usesDevClusterCredentials {
            options.tls = DevClusterCredentials.find(for: seeds)
        }
        let group = eventLoopGroup ?? MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.eventLoopThreads))
        let pool = try ConnectionPool(group: group, connectTimeout: options.connectTimeout, tls: options.tls,
                                      accessKey: options.accessKey)
        let table: RoutingTable
        do {
            table = try await ClusterDiscovery.fetch(
                from: seeds.map { .init(name: $0.description, endpoint: $0) }, pool: pool, options: options,
                deadline: ContinuousClock().now + options.deadline)
        } catch {
            await pool.shutdown()
            if eventLoopGroup == nil { try? await group.shutdownGracefully() }
            throw error
        }
        self.options = options
        self.clientID = options.clientID ?? UInt64.random(in: 1...UInt64.max)
        self.pool = pool
        self.router = Router(table: table)
        self.seeds = seeds
        self.group = group
        self.ownsGroup = eventLoopGroup == nil
    }

    /// Closes every connection (calls in flight fail) and, if the client made
    /// its own event loop group, shuts it down. Later calls fail with
    /// ``TesseraClientError/unavailable(_:)``. Call it once you are done.
    public func close() async {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        await pool.shutdown()
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    /// A client dropped without ``close()`` still stops the threads it made.
    deinit {
        if ownsGroup && !isClosed { group.shutdownGracefully { _ in } }
    }

    var isClosed: Bool { closed.withLock { $0 } }

    // MARK: - Writes

    /// Stores `value` under `key` if `condition` holds.
    public func put(_ key: Key, value: [UInt8], condition: WriteCondition = .none) async throws -> WriteResult {
        try await write([.put(key, value: value, condition: condition)], operation: "put \(abbreviated(key.text))")
    }

    /// Removes `key` if `condition` holds (deleting an absent key succeeds unless the condition says otherwise).
    public func delete(_ key: Key, condition: WriteCondition = .none) async throws -> WriteResult {
        try await write([.delete(key, condition: condition)], operation: "delete \(abbreviated(key.text))")
    }

    /// Replaces `key`'s value with `new` only if it is `expected` now (`nil`: only if `key` is absent).
    public func compareAndSwap(_ key: Key, expected: [UInt8]?, new: [UInt8]) async throws -> WriteResult {
        let condition: WriteCondition = expected.map { .valueEquals($0) } ?? .absent
        return try await write([.put(key, value: new, condition: condition)],
                               operation: "compare-and-swap \(abbreviated(key.text))")
    }

    /// Applies `writes` all or none. Their keys must share one cell (the keys of
    /// one collection — same account/resource/type/primaryKey — always do); at
    /// most ``batchWritesMaximum`` writes.
    public func write(_ writes: [ClientWrite]) async throws -> WriteResult {
        let operation = writes.count == 1 ? "write \(abbreviated(writes[0].key.text))" : "batch of \(writes.count) writes"
        return try await write(writes, operation: operation)
    }

    private func write(_ writes: [ClientWrite], operation: String) async throws -> WriteResult {
        let pointer = try validateBatch(writes, operation: operation)
        let wireWrites = writes.map { WireWrite(key: $0.key.text, value: $0.value, condition: $0.condition) }
        let sequence = sequences.begin()
        defer { sequences.finish(sequence) }
        let clientID = self.clientID
        let sequences = self.sequences
        return try await perform(
            operation, pointer: pointer, route: .write,
            body: {
                .write(clientID: clientID, sequence: sequence, acknowledgedBelow: sequences.acknowledgedBelow,
                       writes: wireWrites)
            },
            decode: { answer in
                switch answer {
                case .written(let version): .value(.written(version: version))
                case .conditionFailed(let write, let version): .value(.conditionFailed(write: Int(write), currentVersion: version))
                default: .unexpected
                }
            })
    }

    /// Checks a batch before it is sent; returns the pointer to route it by.
    private func validateBatch(_ writes: [ClientWrite], operation: String) throws(TesseraClientError) -> Pointer {
        guard let first = writes.first else {
            throw .badRequest("\(operation): a write batch needs at least one write")
        }
        guard writes.count <= Self.batchWritesMaximum else {
            throw .badRequest("\(operation): a batch holds at most \(Self.batchWritesMaximum) writes, not \(writes.count)")
        }
        var totalBytes = 0
        for write in writes {
            let size = write.value?.count ?? 0
            guard size <= ClientRequest.valueBytesMaximum else {
                throw .badRequest("\(operation): the value for \(abbreviated(write.key.text)) is \(size) bytes; the limit is \(ClientRequest.valueBytesMaximum) bytes (16 MiB)")
            }
            if case .valueEquals(let expected) = write.condition, expected.count > ClientRequest.valueBytesMaximum {
                throw .badRequest("\(operation): the expected value for \(abbreviated(write.key.text)) is \(expected.count) bytes; the limit is \(ClientRequest.valueBytesMaximum) bytes")
            }
            totalBytes += size + write.key.text.utf8.count
            if case .valueEquals(let expected) = write.condition { totalBytes += expected.count }
        }
        guard totalBytes <= Frame.lengthMaximum - 64 * 1024 else {
            throw .badRequest("\(operation): the batch carries \(totalBytes) bytes; one request may carry at most \(Frame.lengthMaximum - 64 * 1024)")
        }
        let table = router.table
        let pointer = first.key.pointer
        let cell = table.cell(of: pointer)
        var strays: [String] = []
        for write in writes.dropFirst() {
            let other = table.cell(of: write.key)
            if other != cell { strays.append("\(abbreviated(write.key.text, maximum: 80)) is in cell \(other)") }
        }
        guard strays.isEmpty else {
            let listed = strays.prefix(5).joined(separator: ", ") + (strays.count > 5 ? ", and \(strays.count - 5) more" : "")
            throw .badRequest("\(operation): the keys of one batch must share a cell (keys of one collection always do); \(abbreviated(first.key.text, maximum: 80)) is in cell \(cell), but \(listed)")
        }
        return pointer
    }

    // MARK: - Reads

    /// The item at `key`, or `nil` if there is none. `.strong` asks the cell's
    /// leader (sees every acknowledged write); `.eventual` may ask any replica.
    public func get(_ key: Key, consistency: ReadConsistency = .strong) async throws -> ClientItem? {
        let text = key.text
        return try await perform(
            "get \(abbreviated(text))", pointer: key.pointer, route: consistency == .strong ? .strongRead : .eventualRead,
            body: { .get(key: text, consistency: consistency) },
            decode: { answer in
                if case .item(let item) = answer { .value(item.map(ClientItem.init)) } else { .unexpected }
            })
    }

    /// One page of the items of `collection` (a key without a sort key), in
    /// sort-key order (descending when `reverse`), sort keys in [`from`, `to`]
    /// (`nil`: unbounded), resuming strictly after `after` (pass the previous
    /// page's ``QueryResult/continuation``). At most `limit` items.
    public func query(
        _ collection: Key, from: [UInt8]? = nil, to: [UInt8]? = nil, reverse: Bool = false,
        limit: Int = 100, after: [UInt8]? = nil, consistency: ReadConsistency = .strong
    ) async throws -> QueryResult {
        let text = collection.text
        let operation = "query \(abbreviated(text))"
        guard collection.sortKey.isEmpty else {
            throw TesseraClientError.badRequest(
                "\(operation): a query takes a collection key (account/resource/type/primaryKey) without a sort key; use from:/to: for a sort-key range")
        }
        guard limit >= 1, limit <= Int(UInt32.max) else {
            throw TesseraClientError.badRequest("\(operation): limit must be at least 1, not \(limit)")
        }
        for (name, bound) in [("from", from), ("to", to), ("after", after)] {
            if let bound, bound.count > Key.sortKeyLengthMaximum {
                throw TesseraClientError.badRequest(
                    "\(operation): \(name) is \(bound.count) bytes; a sort key has at most \(Key.sortKeyLengthMaximum)")
            }
        }
        return try await perform(
            operation, pointer: collection.pointer, route: consistency == .strong ? .strongRead : .eventualRead,
            body: {
                .query(collection: text, from: from, to: to, reverse: reverse, limit: UInt32(limit), after: after,
                       consistency: consistency)
            },
            decode: { answer in
                guard case .page(let items, let more) = answer else { return .unexpected }
                return .value(QueryResult(items: items.map(ClientItem.init), continuation: more ? items.last?.sortKey : nil))
            })
    }

    // MARK: - Cluster

    /// The cluster's member list and placement settings, fresh from a node
    /// (the client's routing table is updated with it).
    public func clusterInfo() async throws -> ClusterInfo {
        guard !isClosed else { throw TesseraClientError.unavailable("cluster info: the client is closed") }
        let table = try await ClusterDiscovery.fetch(
            from: discoveryTargets(), pool: pool, options: options, deadline: ContinuousClock().now + options.deadline)
        router.install(table)
        return table.info
    }

    /// The member list and settings this client routes by, without asking the cluster.
    public var cachedClusterInfo: ClusterInfo { router.table.info }

    /// Where `key` lives according to this client's routing table (no network).
    public func placement(of key: Key) -> KeyPlacement {
        let table = router.table
        let cell = table.cell(of: key)
        return KeyPlacement(cell: cell, replicas: table.replicas(of: cell), cachedLeader: router.leader(of: cell))
    }

    /// What node `memberID` hosts and leads, asked of that node alone: one
    /// attempt, no retry elsewhere (a node that does not answer is reported as
    /// ``TesseraClientError/unavailable(_:)``).
    public func nodeStatus(of memberID: String) async throws -> NodeStatus {
        let operation = "status of \(memberID)"
        guard !isClosed else { throw TesseraClientError.unavailable("\(operation): the client is closed") }
        let answer = try await askOnce(memberID, operation: operation, .nodeStatus)
        switch answer {
        case .nodeStatus(let status):
            return status
        case .error(let code, let message) where TesseraClientError.refusal(code, message) != nil:
            throw TesseraClientError.refusal(code, "\(operation): \(message)")!
        case .error(.internalError, let message):
            throw TesseraClientError.internalError("\(operation): \(memberID) failed: \(message)")
        case .error(let code, let message):
            throw TesseraClientError.unavailable("\(operation): \(memberID) answered \(code): \(message)")
        default:
            throw TesseraClientError.protocolError("\(operation): \(memberID) answered with \(answer.kindName)")
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
