import Keyspace
@testable import Storage
import TestSupport
import Testing

/// The checkpoint's free list, whose own pages come out of the free list it lists.
/// Regression: a 1 GB store crashed in `checkpoint()` ("Range requires lowerBound <=
/// upperBound") when the list's pages were taken from a run inside it and the list
/// then fitted on fewer pages than it had been given.
@Suite(.cpuBound)
struct FreeListLayoutTests {
    static let entriesPerPage = Page.payloadCapacity / 4

    /// Free-list sizes at and around every size where taking `k` pages out of the
    /// list drops it below `k` pages: (k−1)·1016 … (k−1)·1016 + k − 1 entries.
    static var sizes: [Int] {
        var sizes = Array(0...40)
        for pages in 2...16 {
            let start = (pages - 1) * entriesPerPage
            sizes += (start - 2)...(start + pages + 1)
        }
        // Long runs, as a 1 GB store of 64 KiB values frees them: the window's edges and middle.
        for pages in [40, 100, 258] {
            let start = (pages - 1) * entriesPerPage
            sizes += [start - 1, start, start + pages / 2, start + pages - 2, start + pages - 1, start + pages]
        }
        return sizes
    }

    enum Shape: CaseIterable {
        /// Every free page in one run: the list's pages come out of the list.
        case oneRun
        /// No two free pages adjacent: the list's pages extend the file.
        case scattered
        /// Half in runs of 300, half scattered, and some pages released this checkpoint.
        case mixed
    }

    @Test(arguments: Shape.allCases)
    func everyFreeListFitsItsOwnPages(shape: Shape) throws {
        let disk = SimulatedDisk()
        for size in Self.sizes {
            let (free, released) = Self.layout(size, shape)
            let pageCount = (free + released).max().map { $0 + 1 } ?? 2
            let pages = PageFile(file: try disk.openFile("pages-\(size).db"), pageCount: max(pageCount, 2))
            var allocator = PageAllocator(free: free, pages: pages)
            let layout = FreeListLayout(allocator: &allocator, released: released, generation: 7)

            #expect(layout.pages.count == layout.pageCount, "size \(size), \(shape)")
            #expect(layout.pages.map(\.number) == (0..<UInt32(layout.pageCount)).map { layout.firstPage + $0 })
            #expect(layout.pages.allSatisfy { $0.payload.count <= Page.payloadCapacity && $0.kind == .freeList })
            // The chain's payload decodes to exactly the new free list, padding ignored.
            var reader = ByteReader(layout.pages.flatMap(\.payload))
            let count = Int(try reader.readUInt32())
            let listed = try (0..<count).map { _ in try reader.readUInt32() }
            #expect(listed == layout.free, "size \(size), \(shape)")
            // Nothing is lost or listed twice: free = (free before + released) − the list's own pages.
            let own = Set((0..<UInt32(layout.pageCount)).map { layout.firstPage + $0 })
            #expect(Set(listed).isDisjoint(with: own))
            #expect(Set(listed).union(own.intersection(Set(free))) == Set(free).union(released), "size \(size), \(shape)")
            #expect(Set(listed).count == listed.count)
        }
    }

    static func layout(_ size: Int, _ shape: Shape) -> (free: [UInt32], released: [UInt32]) {
        switch shape {
        case .oneRun:
            return ((0..<UInt32(size)).map { 2 + $0 }, [])
        case .scattered:
            return ((0..<UInt32(size)).map { 2 + 2 * $0 }, [])
        case .mixed:
            let runs = size / 2
            let released = size / 10
            let scattered = size - runs - released
            let runPages = (0..<UInt32(runs)).map { index in 2 + (index / 300) * 400 + index % 300 }
            let base = (runPages.last ?? 2) + 500
            let scatteredPages = (0..<UInt32(scattered)).map { base + 2 * $0 }
            let releasedBase = (scatteredPages.last ?? base) + 10
            return (runPages + scatteredPages, (0..<UInt32(released)).map { releasedBase + 3 * $0 })
        }
    }

    /// The engine end to end: large values free long runs of pages, and checkpoints
    /// around the sizes that crashed keep every invariant and every survivor's value.
    @Test func checkpointsAfterFreeingLongRunsKeepEveryInvariant() throws {
        let store = try EngineHarness()
        let big = [UInt8](repeating: 0xA5, count: StorageLimits.valueBytesMaximum - 4096)
        try store.put("acme/keep/rnd/survivor", "still here")
        for round in 0..<6 {
            // Each value is a run of about 100 pages; deleting 9–14 of them frees
            // 900–1,400 pages in runs, across the first window (1,016 entries).
            let count = 9 + round
            let keys = try (0..<count).map { try Key(parsing: "acme/big/rnd/r\(round)-\($0)") }
            for key in keys { _ = try store.write([.put(key, big, condition: .none)]) }
            try store.engine.checkpoint()
            for key in keys { _ = try store.write([.delete(key, condition: .none)]) }
            try store.engine.checkpoint()
            try store.engine.checkpoint()
            try store.engine.verifyCheckpointInvariants()
            try store.restart()
            try store.engine.verifyCheckpointInvariants()
            #expect(try store.value("acme/keep/rnd/survivor") == "still here")
            #expect(try store.get("acme/big/rnd/r\(round)-0") == nil)
        }
    }
}
