/// All items of one primary key, sorted by sort key (bytewise), with the
/// collection's name: the bytes its pointer hashes (for a key, its canonical
/// `account/resource/type/primaryKey`), so that a scan by pointer prefix (a
/// cell) can say what it found.
///
/// On disk a collection is one byte stream split over a chain of pages:
///
///     u16 name length | name | u32 item count
///     | items: u16 sort-key length | sort key | u64 version | u32 value length | value
struct ItemCollection: Equatable {
    private(set) var name: [UInt8] = []
    private(set) var items: [Item] = []
    /// Bytes of the encoded stream, kept current so the cache can account for memory.
    private(set) var encodedByteCount = 6

    init() {}

    /// Names a collection that has none yet (a new one, or one read before its first put).
    mutating func name(_ name: [UInt8]) {
        guard self.name.isEmpty, !name.isEmpty else { return }
        self.name = name
        encodedByteCount += name.count
    }

    var isEmpty: Bool { items.isEmpty }

    /// Where `sortKey` is, or where it would be inserted.
    func position(of sortKey: [UInt8]) -> (index: Int, found: Bool) {
        var low = 0
        var high = items.count
        while low < high {
            let middle = (low + high) / 2
            if items[middle].sortKey.lexicographicallyPrecedes(sortKey) { low = middle + 1 } else { high = middle }
        }
        return (low, low < items.count && items[low].sortKey == sortKey)
    }

    func item(_ sortKey: [UInt8]) -> Item? {
        let (index, found) = position(of: sortKey)
        return found ? items[index] : nil
    }

    mutating func put(_ item: Item) {
        let (index, found) = position(of: item.sortKey)
        if found {
            encodedByteCount += item.value.count - items[index].value.count
            items[index] = item
        } else {
            encodedByteCount += Self.encodedSize(of: item)
            items.insert(item, at: index)
        }
    }

    mutating func delete(_ sortKey: [UInt8]) {
        let (index, found) = position(of: sortKey)
        if found {
            encodedByteCount -= Self.encodedSize(of: items[index])
            items.remove(at: index)
        }
    }

    static func encodedSize(of item: Item) -> Int { 2 + item.sortKey.count + 8 + 4 + item.value.count }

    func query(_ range: QueryRange) -> QueryPage {
        // Bounds as indices into `items`: [lower, upper).
        var lower = range.from.map { position(of: $0).index } ?? 0
        var upper = items.count
        if let to = range.to {
            let (index, found) = position(of: to)
            upper = found ? index + 1 : index
        }
        if let after = range.continuation?.lastSortKey {
            let (index, found) = position(of: after)
            if range.reverse { upper = min(upper, index) } else { lower = max(lower, found ? index + 1 : index) }
        }
        guard lower < upper else { return QueryPage(items: [], continuation: nil) }
        let count = min(range.limit, upper - lower)
        let page = range.reverse
            ? Array(items[(upper - count)..<upper].reversed())
            : Array(items[lower..<(lower + count)])
        let more = count < upper - lower
        return QueryPage(items: page, continuation: more ? ContinuationToken(lastSortKey: page.last!.sortKey) : nil)
    }

    /// The encoding in consecutive pieces of exactly `pieceBytes` (the last
    /// one shorter, never empty): a checkpoint writes a large collection
    /// without a second copy of it in memory.
    func encode(inPiecesOf pieceBytes: Int, _ emit: ([UInt8]) throws -> Void) rethrows {
        precondition(pieceBytes > 0, "pieces of \(pieceBytes) bytes")
        var writer = ByteWriter(capacity: min(encodedByteCount, pieceBytes + 4096))
        func emitFullPieces() throws {
            guard writer.bytes.count >= pieceBytes else { return }
            var start = 0
            while writer.bytes.count - start >= pieceBytes {
                try emit(Array(writer.bytes[start..<start + pieceBytes]))
                start += pieceBytes
            }
            writer.bytes.removeFirst(start)
        }
        writer.append(UInt16(name.count))
        writer.append(bytes: name)
        writer.append(UInt32(items.count))
        for item in items {
            writer.append(UInt16(item.sortKey.count))
            writer.append(bytes: item.sortKey)
            writer.append(item.version)
            writer.append(UInt32(item.value.count))
            writer.append(bytes: item.value)
            try emitFullPieces()
        }
        if !writer.bytes.isEmpty { try emit(writer.bytes) }
    }

    init(decoding bytes: [UInt8], file: String, location: String) throws {
        var reader = ByteReader(bytes)
        do {
            name = try reader.readBytes(Int(try reader.readUInt16()))
            let count = Int(try reader.readUInt32())
            items.reserveCapacity(min(count, 100_000))
            var previous: [UInt8]? = nil
            for _ in 0..<count {
                let sortKey = try reader.readBytes(Int(try reader.readUInt16()))
                let version = try reader.readUInt64()
                let value = try reader.readBytes(Int(try reader.readUInt32()))
                if let previous, !previous.lexicographicallyPrecedes(sortKey) {
                    throw StorageError.corruption(file: file, location: location, reason: "items out of sort-key order")
                }
                previous = sortKey
                items.append(Item(sortKey: sortKey, version: version, value: value))
            }
            encodedByteCount = reader.offset
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.corruption(file: file, location: location, reason: "collection is truncated")
        }
    }
}
