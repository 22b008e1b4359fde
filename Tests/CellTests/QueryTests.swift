import Cell
import Testing

/// Range queries over one collection of a cell: bounds, direction, limit, continuation.
struct QueryTests {
    /// Collection "c" holds a…e; its neighbours "b" and "c2" must never leak in.
    func machine() -> CellStateMachine {
        var machine = CellStateMachine()
        let writes = ["d", "a", "e", "c", "b"].map { ItemWrite.put(.named("c", $0), $0) }
            + [.put(.named("b", "z"), "z"), .put(.named("c2", "a"), "a")]
        _ = machine.run(writes)
        return machine
    }

    func keys(_ machine: CellStateMachine, from: String? = nil, to: String? = nil, reverse: Bool = false, limit: Int = 100,
              after: String? = nil) -> (keys: String, more: Bool) {
        let (items, more) = machine.query(collection: Array("c".utf8), from: from.map { Array($0.utf8) }, to: to.map { Array($0.utf8) },
                                          reverse: reverse, limit: limit, after: after.map { Array($0.utf8) })
        return (items.map { String(decoding: $0.sortKey, as: UTF8.self) }.joined(), more)
    }

    @Test func boundsAreInclusiveAndNeedNotBeKeys() {
        let machine = machine()
        #expect(keys(machine) == ("abcde", false))
        #expect(keys(machine, reverse: true) == ("edcba", false))
        #expect(keys(machine, from: "b", to: "d") == ("bcd", false))
        #expect(keys(machine, from: "bb", to: "dd") == ("cd", false))
        #expect(keys(machine, from: "b", to: "d", reverse: true) == ("dcb", false))
        #expect(keys(machine, from: "", to: "a") == ("a", false))
        #expect(keys(machine, from: "e", to: "e") == ("e", false))
        #expect(keys(machine, from: "f") == ("", false))
        #expect(keys(machine, from: "d", to: "b") == ("", false))
        #expect(machine.query(collection: Array("nothing".utf8), from: nil, to: nil, reverse: false, limit: 10, after: nil).items.isEmpty)
    }

    @Test func aLimitCutsThePageAndSaysWhetherMoreMatch() {
        let machine = machine()
        #expect(keys(machine, limit: 2) == ("ab", true))
        #expect(keys(machine, reverse: true, limit: 2) == ("ed", true))
        #expect(keys(machine, limit: 5) == ("abcde", false))
        #expect(keys(machine, from: "b", to: "d", limit: 3) == ("bcd", false))
        #expect(keys(machine, from: "b", to: "d", limit: 2) == ("bc", true))
        #expect(keys(machine, limit: 0) == ("", true))
    }

    @Test func aContinuationResumesStrictlyAfterTheKeyInTheDirectionOfTravel() {
        let machine = machine()
        #expect(keys(machine, after: "b") == ("cde", false))
        #expect(keys(machine, after: "bb") == ("cde", false))
        #expect(keys(machine, after: "e") == ("", false))
        #expect(keys(machine, reverse: true, after: "d") == ("cba", false))
        #expect(keys(machine, reverse: true, after: "dd") == ("dcba", false))
        #expect(keys(machine, from: "b", to: "d", after: "a") == ("bcd", false))
        #expect(keys(machine, from: "b", to: "d", reverse: true, after: "c") == ("b", false))
        #expect(keys(machine, limit: 2, after: "b") == ("cd", true))
    }

    @Test func randomQueriesMatchAFilterOverTheSortedItemsAndPagesAddUpToTheWhole() {
        var random = SeededRandom(seed: 0x9E77)
        for _ in 0..<50 {
            var machine = CellStateMachine()
            var model: [[UInt8]: [UInt8]] = [:]
            for _ in 0..<random.int(1...40) {
                let sortKey = random.bytes(upTo: 2).map { $0 % 4 }
                let value = random.int(0...3) == 0 ? nil : [random.byte()]
                _ = machine.run([ItemWrite(key: ItemKey(collection: [1], sortKey: sortKey), value: value)])
                model[sortKey] = value
            }
            let sorted = model.keys.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(machine.itemCount == sorted.count)
            for _ in 0..<40 {
                let bound = { (random: inout SeededRandom) in random.int(0...2) == 0 ? nil : random.bytes(upTo: 2).map { $0 % 4 } }
                let (from, to, after) = (bound(&random), bound(&random), bound(&random))
                let reverse = random.int(0...1) == 1
                let limit = random.int(0...6)
                var expected = sorted.filter { key in
                    !(from.map { key.lexicographicallyPrecedes($0) } ?? false) && !(to.map { $0.lexicographicallyPrecedes(key) } ?? false)
                }
                if reverse { expected.reverse() }
                if let after {
                    expected = expected.filter { reverse ? $0.lexicographicallyPrecedes(after) : after.lexicographicallyPrecedes($0) }
                }
                let (items, more) = machine.query(collection: [1], from: from, to: to, reverse: reverse, limit: limit, after: after)
                #expect(items.map(\.sortKey) == Array(expected.prefix(limit)))
                #expect(items.allSatisfy { model[$0.sortKey] == $0.value })
                #expect(more == (expected.count > limit))

                // Paging from the start with this limit walks the same items.
                guard limit > 0 else { continue }
                var paged: [[UInt8]] = []
                var resume: [UInt8]? = nil
                while true {
                    let page = machine.query(collection: [1], from: from, to: to, reverse: reverse, limit: limit, after: resume)
                    paged += page.items.map(\.sortKey)
                    guard page.more else { break }
                    resume = page.items.last!.sortKey
                }
                let whole = machine.query(collection: [1], from: from, to: to, reverse: reverse, limit: .max, after: nil)
                #expect(paged == whole.items.map(\.sortKey) && !whole.more)
            }
        }
    }
}
