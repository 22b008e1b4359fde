import Cell
import TestSupport
import Testing
import Storage

/// Conditions decided at apply time, exactly-once retries, and the command encoding.
@Suite(.cpuBound)
struct CommandTests {
    @Test func twoConflictingCompareAndSwapsBothCommitButExactlyOneAppliesIdenticallyOnEveryReplica() throws {
        let cluster = TestCluster(size: 3, seed: 51)
        cluster.elect(.n1)
        // Two clients both try to create "lock", each expecting it absent.
        let alice = CellCommand.compareAndSwap("lock", expected: nil, new: "alice", client: 1, sequence: 1)
        let bob = CellCommand.compareAndSwap("lock", expected: nil, new: "bob", client: 2, sequence: 1)
        let aliceIndex = try #require(cluster.propose(alice.payload, at: .n1).index)
        let bobIndex = try #require(cluster.propose(bob.payload, at: .n1).index)
        #expect(cluster.runUntilQuiet())

        // Both are in the log; the first one applied wins, the second finds its condition false.
        #expect(cluster.committed[aliceIndex]?.payload == alice.payload)
        #expect(cluster.committed[bobIndex]?.payload == bob.payload)
        let expected = [
            AppliedCommand(index: aliceIndex, command: alice, result: .applied(version: aliceIndex)),
            AppliedCommand(index: bobIndex, command: bob, result: .conditionFailed(write: 0, currentVersion: aliceIndex)),
        ]
        for id in cluster.runningNodes {
            #expect(cluster.applied[id] == expected, "\(id) applied \(cluster.applied[id] ?? [])")
            #expect(cluster.stateMachine(id).value("lock") == "alice")
            #expect(cluster.stateMachine(id).read(.named("lock"))?.version == aliceIndex)
        }

        // A swap that expects the current value succeeds.
        let handOver = CellCommand.compareAndSwap("lock", expected: "alice", new: "bob", client: 2, sequence: 2)
        let handOverIndex = try #require(cluster.propose(handOver.payload, at: .n1).index)
        #expect(cluster.runUntilQuiet())
        for id in cluster.runningNodes {
            #expect(cluster.applied[id]?.last?.result == .applied(version: handOverIndex))
            #expect(cluster.stateMachine(id).value("lock") == "bob")
        }
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func aRetriedCommandWithTheSameClientAndSequenceAppliesOnceAndGetsTheRememberedResult() throws {
        let cluster = TestCluster(size: 3, seed: 52)
        cluster.elect(.n1)
        let write = CellCommand.put("counter", "1", client: 42, sequence: 7)
        let firstIndex = try #require(cluster.propose(write.payload, at: .n1).index)
        #expect(cluster.runUntilQuiet())

        // The client saw no answer and retries: the retry is a second log entry…
        let retryIndex = try #require(cluster.propose(write.payload, at: .n1).index)
        #expect(retryIndex > firstIndex)
        // …as is an older request the client had already given up on (7 acknowledged everything below it), arriving late.
        let stale = CellCommand.put("counter", "0", client: 42, sequence: 6)
        let staleIndex = try #require(cluster.propose(stale.payload, at: .n1).index)
        #expect(cluster.runUntilQuiet())

        for id in cluster.runningNodes {
            let results = cluster.applied[id]!.filter { $0.command.clientID == 42 }
            #expect(results.map(\.index) == [firstIndex, retryIndex, staleIndex])
            #expect(results.map(\.result) == [.applied(version: firstIndex), .applied(version: firstIndex), .expired], "\(id): \(results)")
            let item = cluster.stateMachine(id).read(.named("counter"))
            #expect(item?.value == Array("1".utf8) && item?.version == firstIndex, "\(id) applied a retry again")
            #expect(cluster.stateMachine(id).itemCount == 1)
        }
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")

        // A retry of a conditional command gets its remembered failure, even though the condition now holds.
        let cas = CellCommand.compareAndSwap("counter", expected: "2", new: "3", client: 43, sequence: 1)
        #expect(cluster.propose(cas.payload, at: .n1).index != nil)
        #expect(cluster.runUntilQuiet())
        #expect(cluster.propose(CellCommand.put("counter", "2", client: 44, sequence: 1).payload, at: .n1).index != nil)
        #expect(cluster.propose(cas.payload, at: .n1).index != nil)
        #expect(cluster.runUntilQuiet())
        for id in cluster.runningNodes {
            let results = cluster.applied[id]!.filter { $0.command.clientID == 43 }.map(\.result)
            #expect(results == [.conditionFailed(write: 0, currentVersion: firstIndex), .conditionFailed(write: 0, currentVersion: firstIndex)])
            #expect(cluster.stateMachine(id).value("counter") == "2")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func commandsSurviveAnEncodeDecodeRoundTrip() throws {
        var random = SeededRandom(seed: 0xC0FFEE)
        let everyCondition: [WriteCondition] = [.none, .absent, .exists, .versionEquals(0), .versionEquals(.max), .valueEquals([]), .valueEquals([1, 2])]
        let fixed: [CellCommand] = [
            .put("", "", client: 0, sequence: 0),
            .put("k", "v", client: .max, sequence: .max, acknowledgedBelow: .max),
            .write("k", nil, client: 1, sequence: 2, acknowledgedBelow: 0),
            .compareAndSwap("k", expected: nil, new: "", client: 3, sequence: 4),
            .compareAndSwap("k", expected: "", new: "x", client: 3, sequence: 5),
            CellCommand(clientID: 6, sequence: 7, acknowledgedBelow: 5, writes: everyCondition.enumerated().map { number, condition in
                ItemWrite(key: .named("c", "s\(number)"), value: number % 2 == 0 ? nil : [UInt8(number)], condition: condition)
            }),
            CellCommand(clientID: 8, sequence: 9, acknowledgedBelow: 9,
                        writes: (0..<CellCommand.writesMaximum).map { ItemWrite(key: .named("c", "\($0)"), value: []) }),
        ]
        var prefixesDecoded: [[UInt8]] = []
        for command in fixed + (0..<1_000).map({ _ in random.command() }) {
            let bytes = command.encoded()
            #expect(try CellCommand(decoding: bytes) == command)
            // Every strict prefix is truncated; one more byte is trailing garbage.
            for length in 0..<bytes.count where (try? CellCommand(decoding: Array(bytes[..<length]))) != nil {
                prefixesDecoded.append(Array(bytes[..<length]))
            }
            #expect(throws: CellCommand.DecodingError.self) { try CellCommand(decoding: bytes + [random.byte()]) }
        }
        #expect(prefixesDecoded.isEmpty, "truncated encodings decoded: \(prefixesDecoded.prefix(3))")
    }

    @Test func commandsWithNoWritesTooManyWritesOrUnknownFlagsAreRejected() {
        let header = [UInt8](repeating: 0, count: 24)
        // One write of an empty collection and sort key, then a value flag and a condition kind.
        func oneWrite(valueFlag: UInt8, condition: UInt8) -> [UInt8] { header + [1, 0] + [UInt8](repeating: 0, count: 8) + [valueFlag, condition] }
        #expect((try? CellCommand(decoding: oneWrite(valueFlag: 0, condition: 0)))?.writes == [ItemWrite(key: ItemKey(collection: []), value: nil)])
        let cases: [([UInt8], String)] = [
            (oneWrite(valueFlag: 0, condition: 9), "unknown condition kind 9"),
            (oneWrite(valueFlag: 2, condition: 0), "value flag 2 is neither 0 nor 1"),
            // A count of 0 announces a queue operation: here its queue is missing.
            (header + [0, 0], "truncated: UInt32 at byte 26"),
            (header + [101, 0], "a command holds 1 to 100 writes, not 101"),
        ]
        for (bytes, reason) in cases {
            let error = #expect(throws: CellCommand.DecodingError.self) { try CellCommand(decoding: bytes) }
            #expect(error?.reason == reason)
        }
    }

    @Test func decodingRandomOrMutatedBytesEitherFailsWithADecodingErrorOrYieldsAStableCommand() {
        var random = SeededRandom(seed: 0xBADF00D)
        var failures = 0
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<random.int(0...80)).map { _ in random.byte() }
                // Often a plausible write count, so that decoding goes deeper than the header.
                if bytes.count > 26, random.int(0...1) == 0 { bytes.replaceSubrange(24..<26, with: [UInt8(random.int(1...3)), 0]) }
            } else {
                bytes = random.command().encoded()
                for _ in 0...random.int(0...3) { random.mutate(&bytes) }
            }
            switch Result(catching: { () throws(CellCommand.DecodingError) in try CellCommand(decoding: bytes) }) {
            case .success(let command):
                decoded += 1
                // Whatever decodes, re-encodes to bytes that decode to the same command.
                #expect((try? CellCommand(decoding: command.encoded())) == command, "bytes \(bytes)")
            case .failure(let error):
                failures += 1
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(failures > 1_000 && decoded > 100, "failures \(failures), decoded \(decoded)")
    }
}

/// Reproducible random inputs, drawn from the project's SplitMix64.
struct SeededRandom {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    mutating func bytes(upTo maximum: Int) -> [UInt8] { (0..<int(0...maximum)).map { _ in byte() } }

    /// A command of 1…4 writes over random keys, values and conditions.
    mutating func command() -> CellCommand {
        let writes = (0..<int(1...4)).map { _ in
            ItemWrite(key: ItemKey(collection: bytes(upTo: 24), sortKey: bytes(upTo: 8)),
                      value: int(0...2) == 0 ? nil : bytes(upTo: 40), condition: condition(version: next()))
        }
        return CellCommand(clientID: next(), sequence: next(), acknowledgedBelow: next(), writes: writes)
    }

    /// A random condition kind; `version` is the one a version condition names.
    mutating func condition(version: UInt64) -> WriteCondition {
        switch int(0...4) {
        case 0: .none
        case 1: .absent
        case 2: .exists
        case 3: .versionEquals(version)
        default: .valueEquals(bytes(upTo: 3))
        }
    }

    /// Flips, overwrites, inserts or deletes a byte, or cuts the tail, or sets a length field to something huge.
    mutating func mutate(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { bytes.append(byte()); return }
        let position = int(0...(bytes.count - 1))
        switch int(0...5) {
        case 0: bytes[position] ^= UInt8(1) << UInt8(int(0...7))
        case 1: bytes[position] = byte()
        case 2: bytes.insert(byte(), at: position)
        case 3: bytes.remove(at: position)
        case 4: bytes.removeLast(int(1...bytes.count))
        default:
            // The first length field sits right after the 26-byte header.
            if bytes.count >= 30 { bytes.replaceSubrange(26..<30, with: [0xFF, 0xFF, 0xFF, UInt8(int(0...0xFF))]) }
        }
    }
}
