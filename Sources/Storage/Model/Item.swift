/// One item of a collection: a sort key, its version and its value.
public struct Item: Hashable, Sendable {
    /// Empty when the item's key has no sort key.
    public var sortKey: [UInt8]
    /// Monotonic per item, across deletes and re-creates: the sequence number of
    /// the write that produced this value.
    public var version: UInt64
    public var value: [UInt8]

    public init(sortKey: [UInt8], version: UInt64, value: [UInt8]) {
        self.sortKey = sortKey
        self.version = version
        self.value = value
    }
}

/// A condition a write must meet to be applied; checked atomically with the
/// write. The one spelling of "condition" from the client through the wire and
/// the cells' logs down to the store.
public enum WriteCondition: Hashable, Sendable {
    /// Always applies.
    case none
    /// The item must not exist.
    case absent
    /// The item must exist.
    case exists
    /// The item must exist with this version.
    case versionEquals(UInt64)
    /// The item must exist with exactly this value: the machine's COMPARE-AND-SWAP.
    case valueEquals([UInt8])

    public func holds(for current: Item?) -> Bool {
        switch self {
        case .none: true
        case .absent: current == nil
        case .exists: current != nil
        case .versionEquals(let version): current?.version == version
        case .valueEquals(let value): current?.value == value
        }
    }
}

/// The result of one conditional write.
public enum WriteOutcome: Hashable, Sendable {
    /// Durable; the item now has this version (for a delete, the deletion's sequence number).
    case applied(version: UInt64)
    /// Not applied; the item's current version, `nil` if it does not exist, so a
    /// caller can retry without another read.
    case conditionFailed(currentVersion: UInt64?)
}

/// The result of an atomic batch: all applied, or none.
public enum BatchOutcome: Hashable, Sendable {
    case applied(versions: [UInt64])
    /// The first write (by position) whose condition failed, and that item's current version.
    case conditionFailed(index: Int, currentVersion: UInt64?)
}
