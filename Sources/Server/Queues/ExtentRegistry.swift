import Cell
import CellHost
import Keyspace
import Storage

/// The node's list of its extents, kept in a system collection of its page
/// store: an extent is listed in the same record that indexes it in its
/// queue, so a file the list does not name is one a crash left half-born, and
/// one whose queue no longer indexes it was replaced by a leader's snapshot.
/// Node-local: never replicated, never part of a cell's snapshot.
enum ExtentRegistry {
    static let name: [UInt8] = [0] + Array("lnr/extents".utf8)
    static let pointer = Pointer(hashing: name)

    struct Record: Hashable {
        var extentID: UInt64
        var queue: [UInt8]
        var firstSequence: UInt64
        var lastSequence: UInt64
    }

    static func sortKey(_ extentID: UInt64) -> [UInt8] { withUnsafeBytes(of: extentID.bigEndian) { Array($0) } }

    static func update(_ record: Record, version: UInt64, remove: Bool = false) -> ItemUpdate {
        var value: [UInt8] = []
        withUnsafeBytes(of: record.firstSequence.littleEndian) { value.append(contentsOf: $0) }
        withUnsafeBytes(of: record.lastSequence.littleEndian) { value.append(contentsOf: $0) }
        value += record.queue
        return ItemUpdate(collection: name, pointer: pointer, sortKey: sortKey(record.extentID),
                          value: remove ? nil : value, version: version)
    }

    static func record(_ item: Item) -> Record? {
        guard item.sortKey.count == 8, item.value.count > 16 else { return nil }
        func read(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        return Record(extentID: item.sortKey.reduce(UInt64(0)) { $0 << 8 | UInt64($1) },
                      queue: Array(item.value[16...]),
                      firstSequence: read(item.value[0..<8]), lastSequence: read(item.value[8..<16]))
    }

    /// Every record, a page at a time.
    static func forEach(in store: Store, _ body: (Record) throws -> Void) throws {
        var continuation: ContinuationToken?
        repeat {
            let page = try store.readNow { try $0.query(pointer: pointer, QueryRange(limit: 1_000, continuation: continuation)) }
            for item in page.items { if let record = record(item) { try body(record) } }
            continuation = page.continuation
        } while continuation != nil
    }

    static func contains(_ extentID: UInt64, in store: Store) throws -> Bool {
        try store.readNow { try $0.item(pointer: pointer, sortKey: sortKey(extentID)) } != nil
    }
}
