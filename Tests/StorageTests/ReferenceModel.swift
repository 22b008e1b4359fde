import Keyspace
import Storage

/// The storage engine's specification as a sorted dictionary: what every
/// engine state must equal.
struct ReferenceModel: Equatable {
    /// Collection (primary key text) → sort key → item.
    var collections: [String: [[UInt8]: Item]] = [:]
    var nextSequence: UInt64 = 1

    func item(_ key: Key) -> Item? { collections[key.primaryKeyText]?[key.sortKey] }

    /// Applies a batch as the engine must: all conditions hold, or nothing changes.
    mutating func apply(_ writes: [Write]) -> BatchOutcome {
        for (index, write) in writes.enumerated() where !holds(write.condition, item(write.key)) {
            return .conditionFailed(index: index, currentVersion: item(write.key)?.version)
        }
        var versions: [UInt64] = []
        for write in writes {
            let version = nextSequence
            nextSequence += 1
            versions.append(version)
            switch write.change {
            case .put(let value):
                collections[write.key.primaryKeyText, default: [:]][write.key.sortKey] =
                    Item(sortKey: write.key.sortKey, version: version, value: value)
            case .delete:
                collections[write.key.primaryKeyText]?[write.key.sortKey] = nil
                if collections[write.key.primaryKeyText]?.isEmpty == true { collections[write.key.primaryKeyText] = nil }
            }
        }
        return .applied(versions: versions)
    }

    private func holds(_ condition: WriteCondition, _ current: Item?) -> Bool {
        switch condition {
        case .none: true
        case .absent: current == nil
        case .exists: current != nil
        case .versionEquals(let version): current?.version == version
        case .valueEquals(let value): current?.value == value
        }
    }

    /// Items of a collection in sort-key order, as a query over everything returns them.
    func sortedItems(_ primaryKey: String) -> [Item] {
        (collections[primaryKey] ?? [:]).values.sorted { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
    }

    /// Whether the engine holds exactly this state, for the given primary keys.
    func matches(_ engine: StorageEngine, account: String, resource: String, primaryKeys: [String]) throws -> Bool {
        for primaryKey in primaryKeys {
            let key = try Key(account: account, resource: resource, type: .rnd, primaryKey: primaryKey)
            let page = try engine.query(key, QueryRange(limit: QueryRange.limitMaximum)).page
            if page.items != sortedItems(key.primaryKeyText) { return false }
        }
        return true
    }
}
