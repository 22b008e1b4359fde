import Keyspace
import Testing

struct CellIDTests {
    let pointer = try! Key(parsing: "acme/users/rnd/alice").pointer  // starts 2fdffc5d...

    @Test func cellIsThePointersPrefix() {
        #expect(CellID(containing: pointer, depth: 0) == .root)
        #expect(CellID(containing: pointer, depth: 4).prefix == 0x2)
        #expect(CellID(containing: pointer, depth: 12).prefix == 0x2FD)
        #expect(CellID(containing: pointer, depth: 64).prefix == 0x2FDF_FC5D_0D4E_BAB1)
        #expect(CellID(containing: pointer, depth: 12).text == "12/2fd")
        #expect(CellID(containing: pointer, depth: 13).text == "13/05fb")
    }

    @Test func childrenParentAndSiblingAreConsistent() {
        for depth in 0..<64 {
            let cell = CellID(containing: pointer, depth: depth)
            let children = cell.children!
            #expect(children.zero.parent == cell && children.one.parent == cell)
            #expect(children.zero.sibling == children.one)
            #expect(cell.contains(pointer))
            // Exactly one child holds the pointer, and it is the next-depth cell.
            let next = CellID(containing: pointer, depth: depth + 1)
            #expect(children.zero.contains(pointer) != children.one.contains(pointer))
            #expect(next == children.zero || next == children.one)
            #expect(cell.isAncestor(ofOrEqualTo: next) && !next.isAncestor(ofOrEqualTo: cell))
        }
        #expect(CellID(containing: pointer, depth: 64).children == nil)
        #expect(CellID.root.parent == nil)
    }

    @Test func textRoundTripsAndBadValuesAreRejected() {
        for depth in [0, 1, 3, 4, 5, 12, 33, 64] {
            let cell = CellID(containing: pointer, depth: depth)
            #expect(CellID(text: cell.text) == cell)
        }
        #expect(CellID(depth: 65, prefix: 0) == nil)
        #expect(CellID(depth: 3, prefix: 8) == nil)
        #expect(CellID(text: "12/zzz") == nil)
        #expect(CellID(text: "12/2f") == nil)
        #expect(CellID.all(depth: 3).count == 8)
    }
}
