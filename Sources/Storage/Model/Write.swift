import Keyspace

/// One write of a batch.
public struct Write: Sendable, Hashable {
    public enum Change: Sendable, Hashable {
        case put([UInt8])
        case delete
    }

    public var key: Key
    public var change: Change
    public var condition: WriteCondition

    public init(key: Key, change: Change, condition: WriteCondition = .none) {
        self.key = key
        self.change = change
        self.condition = condition
    }

    public static func put(_ key: Key, _ value: [UInt8], condition: WriteCondition = .none) -> Write {
        Write(key: key, change: .put(value), condition: condition)
    }

    public static func delete(_ key: Key, condition: WriteCondition = .none) -> Write {
        Write(key: key, change: .delete, condition: condition)
    }
}
