import Storage

/// The replicated state of one cell in memory (the simulator, the explorer
/// and tests; a node keeps it in its page store): its items, sorted by sort key
/// within each collection, and a session per client so that a retried request
/// is applied once. The rules of applying an entry are ``CellState``'s.
public struct CellStateMachine: CellState, Hashable, Sendable {
    public typealias Failure = Never

    /// Sessions kept per cell (see ``CellSessions``).
    public static let sessionsMaximum = CellSessions.maximum

    /// Items by collection; each array is sorted by sort key and never empty.
    var collections: [[UInt8]: [Item]] = [:]
    var sessions: [UInt64: ClientSession] = [:]
    public var appliedIndex: LogIndex = 0
    public internal(set) var itemCount = 0

    public init() {}

    public var sessionCount: Int { sessions.count }

    public func read(_ key: ItemKey) -> Item? {
        guard let items = collections[key.collection] else { return nil }
        let (index, found) = Self.position(of: key.sortKey, in: items)
        return found ? items[index] : nil
    }

    public func session(_ client: UInt64) -> ClientSession? { sessions[client] }

    public func sessionAges() -> [(client: UInt64, lastIndex: LogIndex)] {
        sessions.map { ($0.key, $0.value.lastIndex) }
    }

    public mutating func storeSession(_ client: UInt64, _ session: ClientSession?, existed: Bool) {
        assert(existed == (sessions[client] != nil), "client \(client): told its session existed: \(existed)")
        sessions[client] = session
    }

    /// Items of `collection` with sort keys in `from...to` (either bound open
    /// when nil), ascending unless `reverse`, at most `limit` of them, resuming
    /// strictly after `after` in the direction of travel. `more` is true when
    /// further items match; the next page passes the last sort key returned as `after`.
    public func query(
        collection: [UInt8], from: [UInt8]?, to: [UInt8]?, reverse: Bool, limit: Int, after: [UInt8]?
    ) -> (items: [Item], more: Bool) {
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

    public mutating func store(_ key: ItemKey, _ item: Item?) {
        let collection = key.collection
        if let item {
            itemCount += Self.put(item, into: &collections[collection, default: []])
        } else if collections[collection] != nil {
            itemCount -= Self.remove(key.sortKey, from: &collections[collection]!)
            if collections[collection]!.isEmpty { collections[collection] = nil }
        }
    }

    // MARK: Sorted arrays

    /// Where `sortKey` is in `items`, or where it would be inserted.
    static func position(of sortKey: [UInt8], in items: [Item]) -> (index: Int, found: Bool) {
        var low = 0
        var high = items.count
        while low < high {
            let middle = (low + high) / 2
            if items[middle].sortKey.lexicographicallyPrecedes(sortKey) { low = middle + 1 } else { high = middle }
        }
        return (low, low < items.count && items[low].sortKey == sortKey)
    }

    /// Returns how many items were added (0 when `item` replaced one).
    private static func put(_ item: Item, into items: inout [Item]) -> Int {
        let (index, found) = position(of: item.sortKey, in: items)
        if found {
            items[index] = item
            return 0
        }
        items.insert(item, at: index)
        return 1
    }

    /// Returns how many items were removed.
    private static func remove(_ sortKey: [UInt8], from items: inout [Item]) -> Int {
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
