/// Hands out pages for one checkpoint.
///
/// Only pages that are free in the last durable checkpoint (or past the end of
/// the file) may be written before the new superblock is durable: the pages a
/// checkpoint replaces stay untouched until then, so a crash at any point
/// leaves the previous checkpoint whole. Runs are contiguous so that a
/// collection, the directory or the free list is read and freed as one range.
struct PageAllocator {
    /// Free in the previous checkpoint, ascending.
    private(set) var free: [UInt32]
    private let pages: PageFile

    init(free: [UInt32], pages: PageFile) {
        self.free = free.sorted()
        self.pages = pages
    }

    /// `count` consecutive page numbers: the first free run long enough, else new pages at the end.
    mutating func allocateRun(_ count: Int) -> UInt32 {
        if count == 1, !free.isEmpty { return free.removeLast() }
        var runStart = 0
        for index in free.indices {
            if index > 0 && free[index] != free[index - 1] + 1 { runStart = index }
            if index - runStart + 1 == count {
                let first = free[runStart]
                free.removeSubrange(runStart...index)
                return first
            }
        }
        let first = pages.extend()
        for _ in 1..<max(count, 1) { _ = pages.extend() }
        return first
    }
}
