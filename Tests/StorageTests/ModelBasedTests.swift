import Keyspace
import Storage
import TestSupport
import Testing

/// Random operations against the engine and the reference model must agree,
/// including queries and conditions, across checkpoints, restarts and crashes
/// after acknowledgement.
@Suite(.cpuBound)
struct ModelBasedTests {
    static let primaryKeys = ["alpha", "beta", "gamma", "delta%2F/x"]
    static let sortKeys: [[UInt8]] = [[], Array("a".utf8), Array("b".utf8), Array("b\u{0}".utf8), [0xFF], Array("m/n".utf8)]

    @Test(arguments: 1...6)
    func randomOperationsAgreeWithTheModel(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let store = try EngineHarness(checkpointWALBytes: 4 * 1024)
        var model = ReferenceModel()

        func randomKey() throws -> Key {
            try Key(account: "acme", resource: "model", type: .rnd,
                    primaryKey: Array(Self.primaryKeys[random.int(0..<Self.primaryKeys.count)].utf8),
                    sortKey: Self.sortKeys[random.int(0..<Self.sortKeys.count)])
        }
        func randomValue() -> [UInt8] {
            let size = random.int(0..<8) == 0 ? random.int(3_000...20_000) : random.int(0...40)
            return (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        func randomCondition(for key: Key) -> WriteCondition {
            let current = model.item(key)
            switch random.int(0..<7) {
            case 0: return .absent
            case 1: return .exists
            case 2: return .versionEquals(current?.version ?? UInt64(random.int(1...5)))
            case 3: return .versionEquals(UInt64(random.int(1...200)))
            case 4: return .valueEquals(current?.value ?? [1])
            default: return .none
            }
        }

        for step in 0..<600 {
            switch random.int(0..<100) {
            case 0..<45:
                let key = try randomKey()
                let write = Write.put(key, randomValue(), condition: randomCondition(for: key))
                #expect(try store.write([write]) == model.apply([write]), "step \(step)")
            case 45..<60:
                let key = try randomKey()
                let write = Write.delete(key, condition: randomCondition(for: key))
                #expect(try store.write([write]) == model.apply([write]), "step \(step)")
            case 60..<70:
                var keys: [Key] = []
                while keys.count < 3 {
                    let key = try randomKey()
                    if !keys.contains(key) { keys.append(key) }
                }
                let batch = keys.map { key in
                    random.int(0..<3) == 0 ? Write.delete(key, condition: randomCondition(for: key))
                        : Write.put(key, randomValue(), condition: randomCondition(for: key))
                }
                #expect(try store.write(batch) == model.apply(batch), "step \(step)")
            case 70..<85:
                let key = try randomKey()
                #expect(try store.engine.get(key).item == model.item(key), "step \(step)")
            case 85..<94:
                let key = try randomKey()
                let bounds = [Self.sortKeys[random.int(0..<Self.sortKeys.count)], Self.sortKeys[random.int(0..<Self.sortKeys.count)]]
                    .sorted { $0.lexicographicallyPrecedes($1) }
                let range = QueryRange(
                    from: random.int(0..<2) == 0 ? bounds[0] : nil, to: random.int(0..<2) == 0 ? bounds[1] : nil,
                    reverse: random.int(0..<2) == 0, limit: random.int(1...4))
                var expected = model.sortedItems(key.primaryKeyText).filter { item in
                    (range.from.map { !item.sortKey.lexicographicallyPrecedes($0) } ?? true)
                        && (range.to.map { !$0.lexicographicallyPrecedes(item.sortKey) } ?? true)
                }
                if range.reverse { expected.reverse() }
                var collected: [Item] = []
                var pageRange = range
                repeat {
                    let page = try store.engine.query(key, pageRange).page
                    #expect(page.items.count <= range.limit)
                    collected += page.items
                    pageRange.continuation = page.continuation
                } while pageRange.continuation != nil
                #expect(collected == expected, "step \(step): query \(range)")
            case 94..<96:
                try store.engine.checkpoint()
                try store.engine.verifyCheckpointInvariants()
            case 96..<98:
                try store.restart()
                try store.engine.verifyCheckpointInvariants()
            default:
                // Everything was acknowledged (flushed), so a crash loses nothing.
                try store.crashAndReopen(random.int(0..<2) == 0 ? .loseAll : .keepAll)
                try store.engine.verifyCheckpointInvariants()
            }
        }
        #expect(try model.matches(store.engine, account: "acme", resource: "model", primaryKeys: Self.primaryKeys))
        try store.restart()
        #expect(try model.matches(store.engine, account: "acme", resource: "model", primaryKeys: Self.primaryKeys))
    }
}
