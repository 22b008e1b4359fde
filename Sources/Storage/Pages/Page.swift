/// What a page holds.
enum PageKind: UInt8 {
    case superblock = 1
    case directory = 2
    case bucket = 3
    case collection = 4
    case freeList = 5
}

/// A 4 KiB page, the word of `rnd` memory:
///
///     u32 CRC-32C of bytes 4..<4096 | u8 kind | u8 0 | u16 0 | u32 own page number
///     | u32 next page in chain (0 = none) | u64 checkpoint generation | u32 payload length
///     | u32 0 | payload (up to 4064 bytes), zero-padded
///
/// The own page number catches misdirected writes; the checksum catches
/// everything else. Page 0 and 1 are the superblocks, so 0 never names a next page.
struct Page {
    static let size = 4096
    static let headerBytes = 32
    static let payloadCapacity = size - headerBytes

    var number: UInt32
    var kind: PageKind
    var next: UInt32
    var generation: UInt64
    var payload: [UInt8]

    func encoded() -> [UInt8] {
        precondition(payload.count <= Self.payloadCapacity, "page payload of \(payload.count) bytes")
        var writer = ByteWriter(capacity: Self.size)
        writer.append(UInt32(0))
        writer.append(kind.rawValue)
        writer.append(UInt8(0))
        writer.append(UInt16(0))
        writer.append(number)
        writer.append(next)
        writer.append(generation)
        writer.append(UInt32(payload.count))
        writer.append(UInt32(0))
        writer.append(bytes: payload)
        writer.bytes.append(contentsOf: [UInt8](repeating: 0, count: Self.size - writer.bytes.count))
        writer.set(CRC32C.checksum(writer.bytes[4...]), at: 0)
        return writer.bytes
    }

    /// Parses and verifies a page read from `file`; any mismatch is corruption.
    static func decode(_ bytes: [UInt8], number: UInt32, expecting kind: PageKind, file: String) throws -> Page {
        func corrupt(_ reason: String) -> StorageError {
            .corruption(file: file, location: "page \(number)", reason: reason)
        }
        guard bytes.count == size else { throw corrupt("short page: \(bytes.count) bytes (file ends early)") }
        var reader = ByteReader(bytes)
        do {
            let storedCRC = try reader.readUInt32()
            guard CRC32C.checksum(bytes[4...]) == storedCRC else { throw corrupt("page checksum mismatch") }
            let kindByte = try reader.readUInt8()
            _ = try reader.readUInt8()
            _ = try reader.readUInt16()
            let ownNumber = try reader.readUInt32()
            let next = try reader.readUInt32()
            let generation = try reader.readUInt64()
            let length = Int(try reader.readUInt32())
            _ = try reader.readUInt32()
            guard ownNumber == number else { throw corrupt("page says it is page \(ownNumber)") }
            guard let foundKind = PageKind(rawValue: kindByte), foundKind == kind else {
                throw corrupt("expected a \(kind) page, found kind \(kindByte)")
            }
            guard length <= payloadCapacity else { throw corrupt("payload length \(length)") }
            return Page(number: number, kind: foundKind, next: next, generation: generation,
                        payload: try reader.readBytes(length))
        } catch let error as StorageError {
            throw error
        } catch {
            throw corrupt("page header is truncated")
        }
    }
}

/// The page file: pages addressed by number, and the allocation of free ones.
final class PageFile {
    static let fileName = "pages.db"

    let file: StorageFile
    /// Pages that exist in the file (the high-water mark).
    private(set) var pageCount: UInt32

    init(file: StorageFile, pageCount: UInt32) {
        self.file = file
        self.pageCount = pageCount
    }

    /// The generation of the checkpoint in use: a page from a later one means the
    /// page was reused after the checkpoint that points to it was superseded.
    var generationLimit: UInt64 = .max

    func read(_ number: UInt32, kind: PageKind) throws -> Page {
        let bytes = try file.read(at: Int(number) * Page.size, count: Page.size)
        return try checked(Page.decode(bytes, number: number, expecting: kind, file: file.name))
    }

    func checked(_ page: Page) throws -> Page {
        guard page.generation <= generationLimit else {
            throw StorageError.corruption(
                file: file.name, location: "page \(page.number)",
                reason: "page is from checkpoint \(page.generation), newer than the checkpoint in use (\(generationLimit))")
        }
        return page
    }

    func write(_ page: Page) throws {
        try file.write(page.encoded(), at: Int(page.number) * Page.size)
    }

    /// Pages per write at most: large enough to stream, small enough not to build
    /// one huge buffer for a checkpoint of many megabytes.
    static let pagesPerWriteMaximum = 256

    /// Writes several pages, coalescing runs of consecutive numbers into one write each.
    func write(_ pages: [Page]) throws {
        let sorted = pages.sorted { $0.number < $1.number }
        var index = 0
        while index < sorted.count {
            var run = sorted[index].encoded()
            var end = index + 1
            while end < sorted.count && sorted[end].number == sorted[end - 1].number + 1
                && end - index < Self.pagesPerWriteMaximum
            {
                run.append(contentsOf: sorted[end].encoded())
                end += 1
            }
            try file.write(run, at: Int(sorted[index].number) * Page.size)
            index = end
        }
    }

    /// A page number past the end of the file.
    func extend() -> UInt32 {
        defer { pageCount += 1 }
        return pageCount
    }

    func sync() throws { try file.sync() }
}

extension PageFile {
    /// After recovery: the superblock's page count is the file's logical size;
    /// pages past it (from a checkpoint that never completed) are reused.
    func restorePageCount(_ count: UInt32) {
        while pageCount < count { _ = extend() }
    }
}
