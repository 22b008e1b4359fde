import Cell
import Keyspace
import Storage

/// A cell's state machine in the node's page store: its items are the store's
/// items (in their collections, by sort key, versioned by log index), and its
/// applied index, log base and client sessions are items of one system
/// collection per cell. Nothing of the cell's data stays in memory beyond the
/// store's bounded cache.
///
/// Applying entries writes into `pending` (reads see it first, so that an
/// entry's conditions see the entries before it); ``takeUpdates(ballot:)``
/// hands the writes over as one group commit, with the applied index.
/// Owned by the cell's shard loop.
public struct PageCellState: CellState, Sendable {
    public typealias Failure = any Error

    public let cell: UInt64
    public let cellDepth: Int
    public let store: Store
    /// The system collection: `0x00` first, which no key's canonical form has,
    /// so it can neither collide with a user's collection nor be named by one.
    let metadataName: [UInt8]
    let metadataPointer: Pointer
    static let baseSortKey: [UInt8] = [0]
    static let sessionPrefix: UInt8 = 1

    public var appliedIndex: LogIndex = 0
    /// The ballot of the entry at `appliedIndex` and the configuration in force there: the log's base at a restart.
    public var appliedBallot: Ballot = .zero
    public var configuration: [NodeID]
    public internal(set) var sessionCount = 0
    /// A leader's snapshot whose install a crash interrupted: finished before the cell is used (see ``InstallMarker``).
    public internal(set) var pendingInstall: InstallMarker?

    private var pendingItems: [ItemKey: Item?] = [:]
    private var pendingOrder: [ItemKey] = []
    private var pendingSessions: [UInt64: ClientSession?] = [:]

    public init(cell: UInt64, cellDepth: Int, store: Store, configuration: [NodeID]) {
        self.cell = cell
        self.cellDepth = cellDepth
        self.store = store
        self.configuration = configuration.sorted()
        metadataName = [0] + Array("cell/\(String(cell, radix: 16))".utf8)
        metadataPointer = Pointer(hashing: metadataName)
    }

    // MARK: CellState

    public func read(_ key: ItemKey) throws -> Item? {
        if let pending = pendingItems[key] { return pending }
        return try storedItem(key)
    }

    /// The item as the store holds it, without the writes not handed over yet.
    public func storedItem(_ key: ItemKey) throws -> Item? {
        let item = try store.readNow { try $0.item(pointer: Pointer(hashing: key.collection), sortKey: key.sortKey) }
        return item
    }

    public func session(_ client: UInt64) throws -> ClientSession? {
        if let pending = pendingSessions[client] { return pending }
        guard let item = try store.readNow({ try $0.item(pointer: metadataPointer, sortKey: Self.sessionKey(client)) }) else {
            return nil
        }
        return try decodeSession(item.value)
    }

    public func sessionAges() throws -> [(client: UInt64, lastIndex: LogIndex)] {
        var ages: [UInt64: LogIndex] = [:]
        for (client, session) in try storedSessions() { ages[client] = session.lastIndex }
        for (client, session) in pendingSessions { ages[client] = session?.lastIndex }
        return ages.map { ($0.key, $0.value) }
    }

    public mutating func store(_ key: ItemKey, _ item: Item?) throws {
        if pendingItems.updateValue(item, forKey: key) == nil { pendingOrder.append(key) }
    }

    public mutating func storeSession(_ client: UInt64, _ session: ClientSession?, existed: Bool) throws {
        sessionCount += (session != nil ? 1 : 0) - (existed ? 1 : 0)
        storeSessionWrite(client, session)
    }

    /// A session's write for the next hand-over, leaving the count to the caller.
    mutating func storeSessionWrite(_ client: UInt64, _ session: ClientSession?) {
        pendingSessions[client] = .some(session)
    }

    // MARK: Reads outside applying

    public func query(collection: [UInt8], from: [UInt8]?, to: [UInt8]?, reverse: Bool, limit: Int, after: [UInt8]?) throws
        -> (items: [Item], more: Bool)
    {
        precondition(pendingOrder.isEmpty, "a query between applying entries and handing over their writes")
        let range = QueryRange(from: from, to: to, reverse: reverse, limit: limit, continuation: after.map(ContinuationToken.init))
        let page = try store.readNow { try $0.query(pointer: Pointer(hashing: collection), range) }
        return (page.items, page.continuation != nil)
    }

    // MARK: Handing writes to the store

    public var hasPendingWrites: Bool { !pendingOrder.isEmpty || !pendingSessions.isEmpty }

    /// The writes made since the last call, with the applied index and log
    /// base, for one group commit; `pending` is empty afterwards.
    public mutating func takeUpdates() -> [ItemUpdate] {
        var updates: [ItemUpdate] = []
        updates.reserveCapacity(pendingOrder.count + pendingSessions.count + 1)
        for key in pendingOrder {
            let item = pendingItems[key]!
            updates.append(ItemUpdate(collection: key.collection, sortKey: key.sortKey, value: item?.value,
                                      version: item?.version ?? appliedIndex))
        }
        for (client, session) in pendingSessions.sorted(by: { $0.key < $1.key }) {
            updates.append(ItemUpdate(collection: metadataName, pointer: metadataPointer, sortKey: Self.sessionKey(client),
                                      value: session.map(CellSnapshotFormat.encode), version: appliedIndex))
        }
        updates.append(ItemUpdate(collection: metadataName, pointer: metadataPointer, sortKey: Self.baseSortKey,
                                  value: encodedBase(), version: appliedIndex))
        pendingItems = [:]
        pendingOrder = []
        pendingSessions = [:]
        return updates
    }

    func storedSessions() throws -> [(client: UInt64, session: ClientSession)] {
        var sessions: [(client: UInt64, session: ClientSession)] = []
        var after: ContinuationToken? = ContinuationToken(lastSortKey: Self.baseSortKey)
        repeat {
            let page = try store.readNow {
                try $0.query(pointer: metadataPointer, QueryRange(limit: QueryRange.limitMaximum, continuation: after))
            }
            for item in page.items where Self.isSessionKey(item.sortKey) {
                sessions.append((Self.client(of: item.sortKey), try decodeSession(item.value)))
            }
            after = page.continuation
        } while after != nil
        return sessions
    }

    // MARK: Encodings

    static func sessionKey(_ client: UInt64) -> [UInt8] {
        var key: [UInt8] = [sessionPrefix]
        withUnsafeBytes(of: client.bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    public static func isSessionKey(_ sortKey: [UInt8]) -> Bool {
        sortKey.count == 9 && sortKey.first == sessionPrefix
    }

    public static func client(of sessionKey: [UInt8]) -> UInt64 {
        sessionKey.dropFirst().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private func decodeSession(_ bytes: [UInt8]) throws -> ClientSession {
        do {
            return try CellSnapshotFormat.decodeSession(bytes)
        } catch {
            throw CellRecoveryError(cell: cell, reason: "a client session does not decode: \(error.reason)")
        }
    }

    /// `u64 applied index | u64 ballot | u32 session count | u32 members | u32 member…`, little-endian.
    private func encodedBase() -> [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        append(appliedIndex)
        append(appliedBallot.number)
        append(UInt32(sessionCount))
        append(UInt32(configuration.count))
        for member in configuration { append(member.rawValue) }
        return bytes
    }

    /// Reads back the applied index, log base and session count (a cell that
    /// never applied anything has none), and an install a crash interrupted.
    public mutating func load() throws {
        pendingInstall = try storedInstallMarker()
        guard let item = try store.readNow({ try $0.item(pointer: metadataPointer, sortKey: Self.baseSortKey) }) else { return }
        let bytes = item.value
        func read<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T? {
            guard offset + MemoryLayout<T>.size <= bytes.count else { return nil }
            return bytes[offset..<offset + MemoryLayout<T>.size].reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        guard let applied = read(0, UInt64.self), let ballot = read(8, UInt64.self), let sessions = read(16, UInt32.self),
            let members = read(20, UInt32.self), bytes.count == 24 + Int(members) * 4
        else {
            throw CellRecoveryError(cell: cell, reason: "its applied-state record is \(bytes.count) bytes and does not decode")
        }
        appliedIndex = applied
        appliedBallot = Ballot(ballot)
        sessionCount = Int(sessions)
        configuration = (0..<Int(members)).map { NodeID(read(24 + $0 * 4, UInt32.self)!) }
    }
}
