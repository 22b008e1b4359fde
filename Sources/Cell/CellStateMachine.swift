/// One item as a cell stores it.
public struct StoredItem: Hashable, Sendable {
    public var sortKey: [UInt8]
    public var value: [UInt8]
    /// The log index of the command that last wrote it.
    public var version: LogIndex

    public init(sortKey: [UInt8], value: [UInt8], version: LogIndex) {
        self.sortKey = sortKey
        self.value = value
        self.version = version
    }
}

/// The replicated state of one cell: its items, sorted by sort key within each
/// collection, and a session per client so that a retried request is applied
/// once. Every replica applies the same entries to it with the same outcome,
/// so nothing here may depend on anything but the entries (no clocks, no
/// dictionary order).
public struct CellStateMachine: Hashable, Sendable {
    /// Sessions kept per cell; beyond this the least recently used are forgotten
    /// (a retry from a forgotten client is applied again).
    public static let sessionsMaximum = 4096
    /// Eviction goes well below the maximum so that its sort runs once per few
    /// hundred new clients, not once per new client.
    static let sessionsAfterEviction = sessionsMaximum * 9 / 10

    /// Items by collection; each array is sorted by sort key and never empty.
    var collections: [[UInt8]: [StoredItem]] = [:]
    var sessions: [UInt64: ClientSession] = [:]
    public internal(set) var appliedIndex: LogIndex = 0
    public internal(set) var itemCount = 0

    public init() {}

    public var sessionCount: Int { sessions.count }

    public func read(_ key: ItemKey) -> StoredItem? {
        guard let items = collections[key.collection] else { return nil }
        let (index, found) = Self.position(of: key.sortKey, in: items)
        return found ? items[index] : nil
    }

    /// Items of `collection` with sort keys in `from...to` (either bound open
    /// when nil), ascending unless `reverse`, at most `limit` of them, resuming
    /// strictly after `after` in the direction of travel. `more` is true when
    /// further items match; the next page passes the last sort key returned as `after`.
    public func query(
        collection: [UInt8], from: [UInt8]?, to: [UInt8]?, reverse: Bool, limit: Int, after: [UInt8]?
    ) -> (items: [StoredItem], more: Bool) {
        guard let items = collections[collection] else { return ([], false) }
        // Bounds as indices into `items`: [lower, upper).
        var lower = from.map { Self.position(of: $0, in: items).index } ?? 0
        var upper = items.count
        if let to {
            let (index, found) = Self.position(of: to, in: items)
            upper = found ? index + 1 : index
        }
        if let after {
            let (index, found) = Self.position(of: after, in: items)
            if reverse { upper = min(upper, index) } else { lower = max(lower, found ? index + 1 : index) }
        }
        guard lower < upper else { return ([], false) }
        let count = min(max(limit, 0), upper - lower)
        let page = reverse ? Array(items[(upper - count)..<upper].reversed()) : Array(items[lower..<(lower + count)])
        return (page, count < upper - lower)
    }

    /// Applies one committed entry; returns the command and its result for a command entry.
    public mutating func apply(_ entry: LogEntry) -> (command: CellCommand, result: CellCommandResult)? {
        precondition(entry.index == appliedIndex + 1, "entries must be applied in order: \(entry.index) after \(appliedIndex)")
        appliedIndex = entry.index
        guard case .command(let bytes) = entry.payload, let command = try? CellCommand(decoding: bytes) else { return nil }
        let session = sessions[command.clientID]
        let result: CellCommandResult
        var executed = false
        if let session, command.sequence < session.watermark {
            result = .expired
        } else if let remembered = session?.results[command.sequence] {
            result = remembered
        } else {
            result = execute(command.writes, version: entry.index)
            executed = true
        }
        sessions[command.clientID, default: ClientSession()].record(
            executed ? result : nil, for: command.sequence, acknowledgedBelow: command.acknowledgedBelow, at: entry.index)
        if sessions.count > Self.sessionsMaximum { evictSessions() }
        return (command, result)
    }

    /// Checks each write's condition against the state the writes before it in
    /// the same command would leave, then applies all of them, or none.
    private mutating func execute(_ writes: [ItemWrite], version: LogIndex) -> CellCommandResult {
        var pending: [ItemKey: StoredItem?] = [:]
        for (number, write) in writes.enumerated() {
            let current: StoredItem? = if let written = pending[write.key] { written } else { read(write.key) }
            guard write.condition.holds(for: current) else {
                return .conditionFailed(write: number, currentVersion: current?.version)
            }
            if writes.count > 1 {
                pending.updateValue(write.value.map { StoredItem(sortKey: write.key.sortKey, value: $0, version: version) },
                                    forKey: write.key)
            }
        }
        for write in writes { store(write, version: version) }
        return .applied(version: version)
    }

    private mutating func store(_ write: ItemWrite, version: LogIndex) {
        let collection = write.key.collection
        if let value = write.value {
            let item = StoredItem(sortKey: write.key.sortKey, value: value, version: version)
            itemCount += Self.put(item, into: &collections[collection, default: []])
        } else if collections[collection] != nil {
            itemCount -= Self.remove(write.key.sortKey, from: &collections[collection]!)
            if collections[collection]!.isEmpty { collections[collection] = nil }
        }
    }

    /// Forgets the least recently used sessions (ties by client id, so every replica forgets the same ones).
    private mutating func evictSessions() {
        let oldest = sessions.map { (client: $0.key, lastIndex: $0.value.lastIndex) }
            .sorted { ($0.lastIndex, $0.client) < ($1.lastIndex, $1.client) }
            .prefix(sessions.count - Self.sessionsAfterEviction)
        for session in oldest { sessions[session.client] = nil }
    }

    // MARK: Sorted arrays

    /// Where `sortKey` is in `items`, or where it would be inserted.
    static func position(of sortKey: [UInt8], in items: [StoredItem]) -> (index: Int, found: Bool) {
        var low = 0
        var high = items.count
        while low < high {
            let middle = (low + high) / 2
            if items[middle].sortKey.lexicographicallyPrecedes(sortKey) { low = middle + 1 } else { high = middle }
        }
        return (low, low < items.count && items[low].sortKey == sortKey)
    }

    /// Returns how many items were added (0 when `item` replaced one).
    private static func put(_ item: StoredItem, into items: inout [StoredItem]) -> Int {
        let (index, found) = position(of: item.sortKey, in: items)
        if found {
            items[index] = item
            return 0
        }
        items.insert(item, at: index)
        return 1
    }

    /// Returns how many items were removed.
    private static func remove(_ sortKey: [UInt8], from items: inout [StoredItem]) -> Int {
        let (index, found) = position(of: sortKey, in: items)
        guard found else { return 0 }
        items.remove(at: index)
        return 1
    }

    // MARK: Equality

    /// Sessions are left out: two replicas agree when their data and applied index do.
    public static func == (lhs: CellStateMachine, rhs: CellStateMachine) -> Bool {
        lhs.collections == rhs.collections && lhs.appliedIndex == rhs.appliedIndex
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(collections)
        hasher.combine(appliedIndex)
    }
}

/// What a cell remembers about one client, so that its retries are answered, not re-applied.
struct ClientSession: Hashable, Sendable {
    /// Every sequence below this is finished: a retry of one is expired.
    var watermark: UInt64 = 0
    /// Results of sequences at or above the watermark, by sequence.
    var results: [UInt64: CellCommandResult] = [:]
    /// The log index that last used this session (for eviction).
    var lastIndex: LogIndex = 0

    mutating func record(_ result: CellCommandResult?, for sequence: UInt64, acknowledgedBelow: UInt64, at index: LogIndex) {
        if let result { results[sequence] = result }
        if acknowledgedBelow > watermark {
            watermark = acknowledgedBelow
            results = results.filter { $0.key >= acknowledgedBelow }
        }
        lastIndex = index
    }
}

extension ItemCondition {
    func holds(for item: StoredItem?) -> Bool {
        switch self {
        case .none: true
        case .absent: item == nil
        case .exists: item != nil
        case .versionEquals(let version): item?.version == version
        case .valueEquals(let value): item?.value == value
        }
    }
}
