import Keyspace
@testable import Storage
import Testing

struct StorageEngineTests {
    @Test func putGetDeleteAndVersions() throws {
        let store = try EngineHarness()
        let first = try store.put("acme/users/rnd/alice/v1", "one")
        let second = try store.put("acme/users/rnd/alice/v1", "two")
        #expect(first.version != nil && second.version! > first.version!)
        #expect(try store.value("acme/users/rnd/alice/v1") == "two")
        #expect(try store.get("acme/users/rnd/alice/v1")?.version == second.version)
        #expect(try store.get("acme/users/rnd/alice/v2") == nil)
        let deleted = try store.delete("acme/users/rnd/alice/v1")
        #expect(try store.get("acme/users/rnd/alice/v1") == nil)
        // Versions stay monotonic across a delete and re-create.
        let recreated = try store.put("acme/users/rnd/alice/v1", "three")
        #expect(recreated.version! > deleted.version!)
    }

    @Test func conditionsReturnTheCurrentVersionWhenTheyFail() throws {
        let store = try EngineHarness()
        let key = "acme/users/rnd/bob"
        #expect(try store.put(key, "a", .exists) == .conditionFailed(currentVersion: nil))
        let created = try store.put(key, "a", .absent).version!
        #expect(try store.put(key, "b", .absent) == .conditionFailed(currentVersion: created))
        #expect(try store.put(key, "b", .versionEquals(created + 100)) == .conditionFailed(currentVersion: created))
        let swapped = try store.put(key, "b", .versionEquals(created)).version!
        #expect(try store.put(key, "c", .valueEquals(Array("a".utf8))) == .conditionFailed(currentVersion: swapped))
        #expect(try store.put(key, "c", .valueEquals(Array("b".utf8))).version != nil)
        #expect(try store.value(key) == "c")
        #expect(try store.delete(key, .versionEquals(1)) == .conditionFailed(currentVersion: try store.get(key)?.version))
        #expect(try store.value(key) == "c")
    }

    @Test func batchesAreAtomic() throws {
        let store = try EngineHarness()
        try store.put("acme/tab/rnd/x", "old")
        let keyX = try Key(parsing: "acme/tab/rnd/x")
        let keyY = try Key(parsing: "acme/tab/rnd/y")
        let failed = try store.write([
            .put(keyY, Array("new-y".utf8)),
            .put(keyX, Array("new-x".utf8), condition: .absent),
        ])
        guard case .conditionFailed(index: 1, currentVersion: .some) = failed else {
            Issue.record("expected the second write to fail, got \(failed)")
            return
        }
        #expect(try store.get("acme/tab/rnd/y") == nil)
        let applied = try store.write([.put(keyY, Array("new-y".utf8)), .delete(keyX)])
        guard case .applied(let versions) = applied else { Issue.record("\(applied)"); return }
        #expect(versions.count == 2 && versions[1] == versions[0] + 1)
        #expect(try store.value("acme/tab/rnd/y") == "new-y")
        #expect(try store.get("acme/tab/rnd/x") == nil)
    }

    @Test func badWritesAreRejectedWithoutSideEffects() throws {
        let store = try EngineHarness()
        let key = try Key(parsing: "acme/tab/rnd/big")
        #expect(throws: StorageError.valueTooLarge(bytes: 400 * 1024 + 1, limit: 400 * 1024)) {
            try store.write([.put(key, [UInt8](repeating: 1, count: 400 * 1024 + 1))])
        }
        #expect(throws: StorageError.self) { try store.write([]) }
        #expect(throws: StorageError.self) { try store.write([.put(key, [1]), .delete(key)]) }
        #expect(throws: StorageError.unsupportedResourceType("lnr")) {
            try store.write([.put(try Key(parsing: "acme/queue/lnr/x"), [1])])
        }
        #expect(try store.get("acme/tab/rnd/big") == nil)
        #expect(store.engine.statistics.nextSequence == 1)
    }

    @Test func largeValuesSpanPagesAndSurviveRestart() throws {
        let store = try EngineHarness()
        let key = try Key(parsing: "acme/blobs/rnd/photo")
        let value = (0..<(400 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try store.write([.put(key, value)])
        try store.restart()
        #expect(try store.engine.get(key).item?.value == value)
        try store.engine.verifyCheckpointInvariants()
    }

    /// A checkpoint writes a collection a piece at a time: one of several
    /// pieces (and a length that ends exactly on a piece) comes back whole.
    @Test(arguments: [0, 1])
    func aCollectionOfManyPiecesSurvivesACheckpoint(endsOnAPiece: Int) throws {
        let store = try EngineHarness()
        let pieceBytes = StorageEngine.checkpointWritePages * Page.payloadCapacity
        var writes: [Write] = []
        var expected: [[UInt8]] = []
        for index in 0..<9 {
            let key = try Key(parsing: "acme/blobs/rnd/album/\(index)")
            let value = (0..<(300 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
            writes.append(.put(key, value))
            expected.append(value)
        }
        try store.write(writes)
        if endsOnAPiece == 1 {
            // Pad with one more item so the encoding is a whole number of pieces.
            let current = try store.engine.collections(withPrefix: 0, depth: 0).first!
            let size = 6 + current.name.count + current.items.reduce(0) { $0 + 2 + $1.sortKey.count + 12 + $1.value.count }
            let key = try Key(parsing: "acme/blobs/rnd/album/pad")
            let padBytes = (pieceBytes - size % pieceBytes) - (2 + 3 + 12)
            try store.write([.put(key, [UInt8](repeating: 1, count: padBytes))])
            let padded = try store.engine.collections(withPrefix: 0, depth: 0).first!
            #expect((6 + padded.name.count + padded.items.reduce(0) { $0 + 14 + $1.sortKey.count + $1.value.count }) % pieceBytes == 0)
        }
        try store.restart()
        for (index, value) in expected.enumerated() {
            #expect(try store.engine.get(try Key(parsing: "acme/blobs/rnd/album/\(index)")).item?.value == value)
        }
        // The pages chain from first to last, as written piece by piece.
        let location = try #require(try store.engine.index.location(of: Pointer(hashing: Array("acme/blobs/rnd/album".utf8))))
        let chain = try PageChain.numbers(from: store.engine.pages, first: location.firstPage, kind: .collection)
        #expect(chain == (0..<location.pageCount).map { location.firstPage + $0 })
        try store.engine.verifyCheckpointInvariants()
    }

    @Test func queriesFollowSortKeyRangesDirectionLimitsAndTokens() throws {
        let store = try EngineHarness()
        for index in 0..<50 { try store.put("acme/events/rnd/day1/" + String(format: "%03d", index), "e\(index)") }
        try store.put("acme/events/rnd/day2/000", "other collection")
        let collection = try Key(parsing: "acme/events/rnd/day1")
        func sortKeys(_ page: QueryPage) -> [String] { page.items.map { String(decoding: $0.sortKey, as: UTF8.self) } }

        let all = try store.engine.query(collection, QueryRange(limit: 1000)).page
        #expect(all.items.count == 50 && all.continuation == nil)
        let ranged = try store.engine.query(collection, QueryRange(from: Array("010".utf8), to: Array("014".utf8))).page
        #expect(sortKeys(ranged) == ["010", "011", "012", "013", "014"])
        let backwards = try store.engine.query(collection, QueryRange(to: Array("002".utf8), reverse: true)).page
        #expect(sortKeys(backwards) == ["002", "001", "000"])

        // Paging forwards and backwards with tokens visits every item once.
        for reverse in [false, true] {
            var seen: [String] = []
            var token: ContinuationToken? = nil
            repeat {
                let page = try store.engine.query(collection, QueryRange(reverse: reverse, limit: 7, continuation: token)).page
                seen += sortKeys(page)
                token = try page.continuation.map { try ContinuationToken(text: $0.description) }
            } while token != nil
            let expected = (0..<50).map { String(format: "%03d", $0) }
            #expect(seen == (reverse ? expected.reversed() : expected))
        }
        #expect(throws: StorageError.invalidContinuationToken) { try ContinuationToken(text: "zz") }
    }

    @Test func manyCollectionsSplitTheHashIndexAndSurviveCheckpoints() throws {
        let store = try EngineHarness(checkpointWALBytes: 32 * 1024)
        for index in 0..<3_000 { try store.put("acme/users/rnd/user\(index)", "value-\(index)") }
        try store.engine.checkpoint()
        try store.engine.verifyCheckpointInvariants()
        for index in stride(from: 0, to: 3_000, by: 3) { try store.delete("acme/users/rnd/user\(index)") }
        try store.restart()
        try store.engine.verifyCheckpointInvariants()
        for index in 0..<3_000 {
            #expect(try store.value("acme/users/rnd/user\(index)") == (index % 3 == 0 ? nil : "value-\(index)"))
        }
        // Freed pages are reused: rewriting everything does not grow the file without bound.
        let pagesBefore = store.engine.statistics.pageCount
        for round in 0..<3 {
            for index in 0..<3_000 where index % 3 != 0 { try store.put("acme/users/rnd/user\(index)", "round-\(round)") }
            try store.engine.checkpoint()
        }
        #expect(store.engine.statistics.pageCount < pagesBefore * 3)
        try store.engine.verifyCheckpointInvariants()
    }
}
