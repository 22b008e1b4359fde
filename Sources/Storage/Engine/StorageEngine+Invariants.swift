import Keyspace

extension StorageEngine {
    /// Checks the last durable checkpoint as it is on disk: every page below the
    /// page count belongs to exactly one owner (a superblock, the directory, a
    /// bucket, a collection or the free list), every collection decodes in
    /// sort-key order, and the counts agree. Used by tests after every recovery.
    public func verifyCheckpointInvariants() throws {
        let file = pages.file.name
        func violation(_ reason: String) -> StorageError {
            .corruption(file: file, location: "checkpoint \(superblock.generation)", reason: "invariant: \(reason)")
        }
        var owners: [UInt32: String] = [:]
        func claim(_ first: UInt32, _ count: Int, _ owner: String) throws {
            for number in first..<(first + UInt32(count)) {
                guard number < superblock.pageCount else {
                    throw violation("\(owner) uses page \(number) beyond the page count \(superblock.pageCount)")
                }
                if let previous = owners.updateValue(owner, forKey: number) {
                    throw violation("page \(number) belongs to both \(previous) and \(owner)")
                }
            }
        }
        try claim(0, 2, "the superblocks")
        if superblock.generation == 0 { return }  // a new store: nothing but the superblock yet
        try claim(superblock.directoryFirstPage, superblock.directoryPageCount, "the directory")
        if superblock.freeListFirstPage != 0 {
            try claim(superblock.freeListFirstPage, Int(superblock.freeListPageCount), "the free list")
        }
        let onDiskIndex = try HashIndex(
            pages: pages, globalDepth: Int(superblock.globalDepth), directoryFirstPage: superblock.directoryFirstPage)
        for page in onDiskIndex.bucketPages { try claim(page, 1, "bucket page \(page)") }
        let entries = try onDiskIndex.allEntries()
        for (pointer, location) in entries {
            try claim(location.firstPage, Int(location.pageCount), "collection \(pointer.hex.prefix(16))")
            let collection = try readCollection(at: location)
            if collection.isEmpty { throw violation("empty collection \(pointer.hex.prefix(16)) is indexed") }
            if !collection.name.isEmpty && Pointer(hashing: collection.name) != pointer {
                throw violation("collection \(pointer.hex.prefix(16)) is named for another pointer")
            }
        }
        for page in try Self.readFreeList(pages, superblock) { try claim(page, 1, "the free pages") }
        for number in 0..<superblock.pageCount where owners[number] == nil {
            throw violation("page \(number) is neither used nor free (leaked)")
        }
        if UInt64(entries.count) != superblock.collectionCount {
            throw violation("\(entries.count) collections indexed, superblock says \(superblock.collectionCount)")
        }
    }
}
