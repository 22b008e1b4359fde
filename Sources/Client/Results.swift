import Keyspace
import Wire

/// One write of an atomic batch: a put when `value` is set, a delete when it is `nil`.
public struct ClientWrite: Sendable, Hashable {
    public var key: Key
    public var value: [UInt8]?
    public var condition: WriteCondition

    public init(key: Key, value: [UInt8]?, condition: WriteCondition = .none) {
        self.key = key
        self.value = value
        self.condition = condition
    }

    public static func put(_ key: Key, value: [UInt8], condition: WriteCondition = .none) -> ClientWrite {
        ClientWrite(key: key, value: value, condition: condition)
    }

    public static func delete(_ key: Key, condition: WriteCondition = .none) -> ClientWrite {
        ClientWrite(key: key, value: nil, condition: condition)
    }
}

/// What a write (or batch) did.
public enum WriteResult: Sendable, Hashable {
    /// Applied; every item written got this version.
    case written(version: UInt64)
    /// Write number `write` (0-based, in the batch's order) found a different
    /// state; nothing was changed. `currentVersion` is the item's version, `nil` if absent.
    case conditionFailed(write: Int, currentVersion: UInt64?)

    public var isWritten: Bool {
        if case .written = self { true } else { false }
    }
}

/// One stored item.
public struct ClientItem: Sendable, Hashable {
    /// The item's sort key (empty when it has none).
    public var sortKey: [UInt8]
    public var value: [UInt8]
    /// The version of the last write of this item (the cell's log index).
    public var version: UInt64

    public init(sortKey: [UInt8], value: [UInt8], version: UInt64) {
        self.sortKey = sortKey
        self.value = value
        self.version = version
    }

    init(_ item: WireItem) {
        self.init(sortKey: item.sortKey, value: item.value, version: item.version)
    }
}

/// One page of a query.
public struct QueryResult: Sendable, Hashable {
    public var items: [ClientItem]
    /// The last sort key of this page when more items follow: pass it as
    /// `after:` to get the next page. `nil` when the range is exhausted.
    public var continuation: [UInt8]?

    public init(items: [ClientItem], continuation: [UInt8]?) {
        self.items = items
        self.continuation = continuation
    }

    public var hasMore: Bool { continuation != nil }
}

/// Where a key lives, as this client's routing table sees it.
public struct KeyPlacement: Sendable, Hashable {
    public var cell: CellID
    /// Member ids of the cell's replicas, preferred leader first.
    public var replicas: [String]
    /// The leader this client last saw, if any.
    public var cachedLeader: String?
}
