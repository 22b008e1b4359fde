import Keyspace

/// One write of a group commit (see ``Store/commitGroup(updates:logChanges:completion:)``):
/// unconditional, with the version its owner gives the item (a cell gives the
/// log index of the entry that wrote it, the same on every replica).
public struct ItemUpdate: Hashable, Sendable {
    /// The collection's name: the bytes its pointer hashes.
    public var collection: [UInt8]
    public var pointer: Pointer
    public var sortKey: [UInt8]
    /// The new value; nil deletes the item.
    public var value: [UInt8]?
    public var version: UInt64

    public init(collection: [UInt8], pointer: Pointer, sortKey: [UInt8], value: [UInt8]?, version: UInt64) {
        self.collection = collection
        self.pointer = pointer
        self.sortKey = sortKey
        self.value = value
        self.version = version
    }

    /// A write to the collection named `collection`, hashing the name for its pointer.
    public init(collection: [UInt8], sortKey: [UInt8], value: [UInt8]?, version: UInt64) {
        self.init(collection: collection, pointer: Pointer(hashing: collection), sortKey: sortKey, value: value, version: version)
    }
}

/// A collection found by a scan (see ``StorageEngine/collections(withPrefix:depth:)``).
public struct ScannedCollection: Sendable {
    public var name: [UInt8]
    public var pointer: Pointer
    public var items: [Item]
}
