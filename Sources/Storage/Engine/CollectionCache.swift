import Keyspace

/// Clean collections read from disk, bounded by their encoded size; the oldest
/// insertions are evicted first.
struct CollectionCache {
    var bytesMaximum = 256 * 1024 * 1024
    private var entries: [Pointer: ItemCollection] = [:]
    private var order: [Pointer] = []
    private var orderStart = 0
    private(set) var bytes = 0

    var count: Int { entries.count }

    func get(_ pointer: Pointer) -> ItemCollection? { entries[pointer] }

    mutating func insert(_ pointer: Pointer, _ collection: ItemCollection) {
        if let old = entries.updateValue(collection, forKey: pointer) {
            bytes -= old.encodedByteCount
        } else {
            order.append(pointer)
        }
        bytes += collection.encodedByteCount
        while bytes > bytesMaximum && orderStart < order.count {
            let oldest = order[orderStart]
            orderStart += 1
            if let evicted = entries.removeValue(forKey: oldest) { bytes -= evicted.encodedByteCount }
        }
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    mutating func remove(_ pointer: Pointer) {
        if let removed = entries.removeValue(forKey: pointer) { bytes -= removed.encodedByteCount }
    }
}
