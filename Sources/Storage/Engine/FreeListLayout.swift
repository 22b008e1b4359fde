/// The free list of a new checkpoint, on pages taken from the allocator.
///
/// The list's own pages come out of the allocator, and the allocator may take them
/// out of the very free list being written, so the pages are sized for the worst
/// case first: every page still free and every page released. A run taken from the
/// free list shrinks it, by whole pages when the run is long (a 1 GB store freeing
/// 64 KiB values leaves runs of hundreds of pages); the chain's surplus pages are
/// then written empty. They belong to the free list's chain, which the next
/// checkpoint releases whole.
struct FreeListLayout {
    let firstPage: UInt32
    let pageCount: Int
    /// Pages free in the new checkpoint, the list's own pages excluded.
    let free: [UInt32]
    let pages: [Page]

    init(allocator: inout PageAllocator, released: [UInt32], generation: UInt64) {
        let upperBound = allocator.free.count + released.count
        pageCount = PageChain.pagesNeeded(for: 4 + upperBound * 4)
        firstPage = allocator.allocateRun(pageCount)
        free = allocator.free + released
        var bytes = ByteWriter(capacity: 4 + free.count * 4)
        bytes.append(UInt32(free.count))
        for number in free { bytes.append(number) }
        let first = firstPage
        let ownPages = first..<(first + UInt32(pageCount))
        pages = PageChain.pages(for: bytes.bytes, numbers: Array(ownPages), kind: .freeList, generation: generation)

        precondition(pages.count == pageCount, "free list laid on \(pages.count) pages, not \(pageCount)")
        precondition(!free.contains(where: ownPages.contains), "the free list lists one of its own pages \(ownPages)")
    }
}
