/// The root of a checkpoint, written to page 0 or 1 alternately so that a torn
/// superblock write always leaves the previous checkpoint intact.
struct Superblock: Equatable {
    static let magic: [UInt8] = Array("TESSERA1".utf8)
    /// 2: the WAL also holds replicated logs (format 1 had item writes only).
    static let formatVersion: UInt32 = 2

    /// Increases by one per checkpoint; the valid superblock with the highest wins.
    var generation: UInt64
    /// Every write with a sequence up to this one is in the pages.
    var checkpointSequence: UInt64
    var pageCount: UInt32
    var globalDepth: UInt8
    var directoryFirstPage: UInt32
    var freeListFirstPage: UInt32
    var freeListPageCount: UInt32
    var collectionCount: UInt64

    static let empty = Superblock(
        generation: 0, checkpointSequence: 0, pageCount: 2, globalDepth: 0,
        directoryFirstPage: 0, freeListFirstPage: 0, freeListPageCount: 0, collectionCount: 0)

    var pageNumber: UInt32 { UInt32(generation % 2) }

    /// Pages of the directory run: 2^globalDepth slots of 8 bytes.
    var directoryPageCount: Int { PageChain.pagesNeeded(for: (1 << Int(globalDepth)) * 8) }

    func page() -> Page {
        var writer = ByteWriter(capacity: 64)
        writer.append(bytes: Self.magic)
        writer.append(Self.formatVersion)
        writer.append(generation)
        writer.append(checkpointSequence)
        writer.append(pageCount)
        writer.append(globalDepth)
        writer.append(directoryFirstPage)
        writer.append(freeListFirstPage)
        writer.append(freeListPageCount)
        writer.append(collectionCount)
        return Page(number: pageNumber, kind: .superblock, next: 0, generation: generation, payload: writer.bytes)
    }

    init(generation: UInt64, checkpointSequence: UInt64, pageCount: UInt32, globalDepth: UInt8,
         directoryFirstPage: UInt32, freeListFirstPage: UInt32, freeListPageCount: UInt32, collectionCount: UInt64) {
        self.generation = generation
        self.checkpointSequence = checkpointSequence
        self.pageCount = pageCount
        self.globalDepth = globalDepth
        self.directoryFirstPage = directoryFirstPage
        self.freeListFirstPage = freeListFirstPage
        self.freeListPageCount = freeListPageCount
        self.collectionCount = collectionCount
    }

    init(page: Page, file: String) throws {
        var reader = ByteReader(page.payload)
        do {
            guard try reader.readBytes(8) == Self.magic else {
                throw StorageError.corruption(file: file, location: "page \(page.number)", reason: "not a Tessera superblock")
            }
            let version = try reader.readUInt32()
            guard version == Self.formatVersion else {
                throw StorageError.unsupportedFormat(file: file, found: version, supported: Self.formatVersion)
            }
            generation = try reader.readUInt64()
            checkpointSequence = try reader.readUInt64()
            pageCount = try reader.readUInt32()
            globalDepth = try reader.readUInt8()
            directoryFirstPage = try reader.readUInt32()
            freeListFirstPage = try reader.readUInt32()
            freeListPageCount = try reader.readUInt32()
            collectionCount = try reader.readUInt64()
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.corruption(file: file, location: "page \(page.number)", reason: "superblock is truncated")
        }
    }

    /// The newest valid superblock of the file, or `nil` for a new file.
    ///
    /// A new store writes and syncs its empty superblock before anything else,
    /// so a file of at most two pages without a valid one is a creation that a
    /// crash interrupted (nothing was ever acknowledged); a longer file without
    /// one is corruption.
    static func load(from pages: PageFile) throws -> Superblock? {
        guard try pages.file.size() > 2 * Page.size else {
            var candidates: [Superblock] = []
            for number in [UInt32(0), 1] {
                guard let page = try? pages.read(number, kind: .superblock) else { continue }
                do {
                    candidates.append(try Superblock(page: page, file: pages.file.name))
                } catch StorageError.unsupportedFormat(let file, let found, let supported) {
                    throw StorageError.unsupportedFormat(file: file, found: found, supported: supported)
                } catch {}
            }
            return candidates.max { $0.generation < $1.generation }
        }
        var found: [Superblock] = []
        var failures: [String] = []
        for number in [UInt32(0), 1] {
            do {
                let page = try pages.read(number, kind: .superblock)
                let superblock = try Superblock(page: page, file: pages.file.name)
                if superblock.pageNumber == number { found.append(superblock) }
            } catch let error as StorageError {
                if case .unsupportedFormat = error { throw error }
                failures.append(error.description)
            }
        }
        guard let newest = found.max(by: { $0.generation < $1.generation }) else {
            throw StorageError.corruption(
                file: pages.file.name, location: "pages 0 and 1",
                reason: "no valid superblock (\(failures.joined(separator: "; ")))")
        }
        return newest
    }
}

/// Lists of page numbers or entries stored as a chain of pages.
enum PageChain {
    /// Reads a chain's payloads, concatenated. `limit` guards against cycles.
    static func read(from pages: PageFile, first: UInt32, kind: PageKind, limit: Int = 1 << 24) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var number = first
        var count = 0
        while number != 0 {
            let page = try pages.read(number, kind: kind)
            bytes.append(contentsOf: page.payload)
            number = page.next
            count += 1
            if count > limit {
                throw StorageError.corruption(file: pages.file.name, location: "page \(first)", reason: "page chain has a cycle")
            }
        }
        return bytes
    }

    /// Splits `bytes` over the given page numbers: at least ``pagesNeeded(for:)`` of
    /// them; pages past the end of `bytes` are written empty (see ``FreeListLayout``).
    /// `nextAfterLast` links the last page to a chain's further pages (a chain written in pieces).
    static func pages(for bytes: [UInt8], numbers: [UInt32], kind: PageKind, generation: UInt64,
                      nextAfterLast: UInt32 = 0) -> [Page] {
        precondition(numbers.count >= pagesNeeded(for: bytes.count), "\(bytes.count) bytes do not fit on \(numbers.count) pages")
        var pages: [Page] = []
        for (index, number) in numbers.enumerated() {
            let start = min(index * Page.payloadCapacity, bytes.count)
            let chunk = Array(bytes[start..<min(start + Page.payloadCapacity, bytes.count)])
            let next = index + 1 < numbers.count ? numbers[index + 1] : nextAfterLast
            pages.append(Page(number: number, kind: kind, next: next, generation: generation, payload: chunk))
        }
        return pages
    }

    static func pagesNeeded(for byteCount: Int) -> Int {
        max(1, (byteCount + Page.payloadCapacity - 1) / Page.payloadCapacity)
    }

    /// Page numbers of a chain, without reading payloads into one buffer.
    static func numbers(from pages: PageFile, first: UInt32, kind: PageKind) throws -> [UInt32] {
        var numbers: [UInt32] = []
        var number = first
        while number != 0 {
            numbers.append(number)
            number = try pages.read(number, kind: kind).next
            if numbers.count > 1 << 24 {
                throw StorageError.corruption(file: pages.file.name, location: "page \(first)", reason: "page chain has a cycle")
            }
        }
        return numbers
    }
}
