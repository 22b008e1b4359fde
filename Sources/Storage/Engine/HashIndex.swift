import Keyspace

/// Where a collection's chain of pages is.
struct CollectionLocation: Equatable {
    var firstPage: UInt32
    var pageCount: UInt32
    var byteCount: UInt32
}

/// Extendible hashing from pointer to collection location.
///
/// The directory has 2^globalDepth slots, indexed by the pointer's leading
/// bits; each slot names a bucket (one page of up to ``Bucket/capacity``
/// entries). A full bucket splits on one more bit, doubling the directory when
/// its depth already equals the directory's. SHA-512 pointers are uniform, so
/// buckets fill evenly. Buckets are read from disk on first use.
final class HashIndex {
    final class Bucket {
        /// Entries per bucket page: (4064 - 3) / 76.
        static let capacity = 53
        static let entryBytes = Pointer.byteCount + 12

        var localDepth: Int
        /// The page holding this bucket in the last checkpoint, 0 if none.
        var page: UInt32
        /// `nil` until read from `page`.
        var entries: [Pointer: CollectionLocation]?
        var dirty = false

        init(localDepth: Int, page: UInt32, entries: [Pointer: CollectionLocation]?) {
            self.localDepth = localDepth
            self.page = page
            self.entries = entries
        }
    }

    static let globalDepthMaximum = 26

    private(set) var globalDepth: Int
    private(set) var directory: [Bucket]
    private(set) var directoryDirty = false
    private let pages: PageFile

    /// An empty index.
    init(pages: PageFile) {
        self.pages = pages
        globalDepth = 0
        let root = Bucket(localDepth: 0, page: 0, entries: [:])
        root.dirty = true
        directory = [root]
        directoryDirty = true
    }

    /// The index of a checkpoint: the directory is read now, buckets when first used.
    init(pages: PageFile, globalDepth: Int, directoryFirstPage: UInt32) throws {
        self.pages = pages
        self.globalDepth = globalDepth
        let bytes = try PageChain.read(from: pages, first: directoryFirstPage, kind: .directory)
        let slots = 1 << globalDepth
        guard bytes.count == slots * 8 else {
            throw StorageError.corruption(
                file: pages.file.name, location: "page \(directoryFirstPage)",
                reason: "directory has \(bytes.count) bytes for \(slots) slots")
        }
        var reader = ByteReader(bytes)
        var byPage: [UInt32: Bucket] = [:]
        var directory: [Bucket] = []
        directory.reserveCapacity(slots)
        for _ in 0..<slots {
            let page = try! reader.readUInt32()
            let depth = Int(try! reader.readUInt32())
            guard depth <= globalDepth, page >= 2 else {
                throw StorageError.corruption(file: pages.file.name, location: "directory", reason: "bad slot (\(page), depth \(depth))")
            }
            let bucket = byPage[page] ?? Bucket(localDepth: depth, page: page, entries: nil)
            byPage[page] = bucket
            directory.append(bucket)
        }
        self.directory = directory
    }

    /// Page numbers of the buckets, to free when they are rewritten.
    var bucketPages: Set<UInt32> { Set(directory.map(\.page).filter { $0 != 0 }) }

    func slot(of pointer: Pointer) -> Int {
        globalDepth == 0 ? 0 : Int(pointer.leadingWord >> UInt64(64 - globalDepth))
    }

    func location(of pointer: Pointer) throws -> CollectionLocation? {
        try entries(of: directory[slot(of: pointer)])[pointer]
    }

    /// Sets or removes (with `nil`) a pointer's location.
    func set(_ pointer: Pointer, _ location: CollectionLocation?) throws {
        var bucket = directory[slot(of: pointer)]
        var entries = try entries(of: bucket)
        if let location {
            while entries[pointer] == nil && entries.count >= Bucket.capacity {
                try split(bucket)
                bucket = directory[slot(of: pointer)]
                entries = try self.entries(of: bucket)
            }
            bucket.entries![pointer] = location
        } else {
            bucket.entries![pointer] = nil
        }
        bucket.dirty = true
    }

    /// Buckets that changed since the last checkpoint.
    var dirtyBuckets: [Bucket] {
        var seen = Set<ObjectIdentifier>()
        return directory.filter { $0.dirty && seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// The directory as stored: per slot, u32 bucket page and u32 local depth.
    func encodedDirectory() -> [UInt8] {
        var writer = ByteWriter(capacity: directory.count * 8)
        for bucket in directory {
            writer.append(bucket.page)
            writer.append(UInt32(bucket.localDepth))
        }
        return writer.bytes
    }

    func markClean() {
        for bucket in directory { bucket.dirty = false }
        directoryDirty = false
    }

    func markDirectoryDirty() { directoryDirty = true }

    func encodedBucket(_ bucket: Bucket) -> [UInt8] {
        var writer = ByteWriter(capacity: 3 + (bucket.entries?.count ?? 0) * Bucket.entryBytes)
        writer.append(UInt8(bucket.localDepth))
        let entries = bucket.entries ?? [:]
        writer.append(UInt16(entries.count))
        // Sorted, so that a bucket's bytes do not depend on dictionary order.
        for (pointer, location) in entries.sorted(by: { $0.key < $1.key }) {
            writer.append(bytes: pointer.bytes)
            writer.append(location.firstPage)
            writer.append(location.pageCount)
            writer.append(location.byteCount)
        }
        return writer.bytes
    }

    /// The indexed pointers whose first `depth` bits equal `prefix`, reading
    /// only the buckets of the directory slots that cover that prefix.
    func pointers(withPrefix prefix: UInt64, depth: Int) throws -> [Pointer] {
        let slots: Range<Int>
        if depth >= globalDepth {
            let slot = globalDepth == 0 ? 0 : Int(prefix >> UInt64(depth - globalDepth))
            slots = slot..<(slot + 1)
        } else {
            let first = Int(prefix) << (globalDepth - depth)
            slots = first..<(first + (1 << (globalDepth - depth)))
        }
        var seen = Set<ObjectIdentifier>()
        var result: [Pointer] = []
        for slot in slots where seen.insert(ObjectIdentifier(directory[slot])).inserted {
            for pointer in try entries(of: directory[slot]).keys
            where depth == 0 || pointer.leadingWord >> UInt64(64 - depth) == prefix {
                result.append(pointer)
            }
        }
        return result
    }

    /// Every entry, reading every bucket (for recovery checks and statistics).
    func allEntries() throws -> [Pointer: CollectionLocation] {
        var result: [Pointer: CollectionLocation] = [:]
        var seen = Set<ObjectIdentifier>()
        for bucket in directory where seen.insert(ObjectIdentifier(bucket)).inserted {
            result.merge(try entries(of: bucket)) { first, _ in first }
        }
        return result
    }

    private func entries(of bucket: Bucket) throws -> [Pointer: CollectionLocation] {
        if let entries = bucket.entries { return entries }
        let page = try pages.read(bucket.page, kind: .bucket)
        var reader = ByteReader(page.payload)
        func corrupt(_ reason: String) -> StorageError {
            .corruption(file: pages.file.name, location: "page \(bucket.page)", reason: reason)
        }
        var entries: [Pointer: CollectionLocation] = [:]
        do {
            let depth = Int(try reader.readUInt8())
            guard depth == bucket.localDepth else { throw corrupt("bucket depth \(depth), directory says \(bucket.localDepth)") }
            let count = Int(try reader.readUInt16())
            for _ in 0..<count {
                let pointer = Pointer(bytes: try reader.readBytes(Pointer.byteCount))!
                let location = CollectionLocation(
                    firstPage: try reader.readUInt32(), pageCount: try reader.readUInt32(), byteCount: try reader.readUInt32())
                entries[pointer] = location
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw corrupt("bucket is truncated")
        }
        bucket.entries = entries
        return entries
    }

    private func split(_ bucket: Bucket) throws {
        if bucket.localDepth == globalDepth {
            guard globalDepth < Self.globalDepthMaximum else {
                preconditionFailure("hash index directory exceeds 2^\(Self.globalDepthMaximum) slots")
            }
            directory = directory.flatMap { [$0, $0] }
            globalDepth += 1
        }
        let entries = try self.entries(of: bucket)
        let bit = bucket.localDepth  // the pointer bit (from the top) that now tells the halves apart
        let zero = Bucket(localDepth: bit + 1, page: 0, entries: [:])
        let one = Bucket(localDepth: bit + 1, page: 0, entries: [:])
        zero.dirty = true
        one.dirty = true
        for (pointer, location) in entries {
            if pointer.leadingWord >> UInt64(63 - bit) & 1 == 0 { zero.entries![pointer] = location } else {
                one.entries![pointer] = location
            }
        }
        for slot in directory.indices where directory[slot] === bucket {
            directory[slot] = (slot >> (globalDepth - 1 - bit)) & 1 == 0 ? zero : one
        }
        directoryDirty = true
        // The old bucket's page is freed by the checkpoint that drops it from the directory.
        orphanedPages.append(bucket.page)
    }

    /// Bucket pages no longer in the directory since the last checkpoint.
    var orphanedPages: [UInt32] = []
}
