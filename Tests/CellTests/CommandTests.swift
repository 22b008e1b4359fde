import Cell
import Testing

/// Conditions decided at apply time, exactly-once retries, and the command encoding.
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
            AppliedCommand(index: bobIndex, command: bob, result: .conditionFailed(currentVersion: aliceIndex)),
        ]
        for id in cluster.runningNodes {
            #expect(cluster.applied[id] == expected, "\(id) applied \(cluster.applied[id] ?? [])")
            #expect(cluster.stateMachine(id).value("lock") == "alice")
            #expect(cluster.stateMachine(id).read(Array("lock".utf8))?.version == aliceIndex)
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
        let before = cluster.stateMachine(.n1).encoded()

        // The client saw no answer and retries: the retry is a second log entry…
        let retryIndex = try #require(cluster.propose(write.payload, at: .n1).index)
        #expect(retryIndex > firstIndex)
        // …as is an older, overtaken request of the same client, arriving late.
        let stale = CellCommand.put("counter", "0", client: 42, sequence: 6)
        let staleIndex = try #require(cluster.propose(stale.payload, at: .n1).index)
        #expect(cluster.runUntilQuiet())

        for id in cluster.runningNodes {
            let results = cluster.applied[id]!.filter { $0.command.clientID == 42 }
            #expect(results.map(\.index) == [firstIndex, retryIndex, staleIndex])
            #expect(results.prefix(2).map(\.result) == [.applied(version: firstIndex), .applied(version: firstIndex)], "\(id): \(results)")
            #expect(results.last?.result != .applied(version: staleIndex), "\(id) applied an overtaken request")
            let item = cluster.stateMachine(id).read(Array("counter".utf8))
            #expect(item?.value == Array("1".utf8) && item?.version == firstIndex, "\(id) applied a retry again")
            // Only the applied index moved: items and sessions are as they were.
            #expect(cluster.stateMachine(id).encoded() == before)
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
            #expect(results == [.conditionFailed(currentVersion: firstIndex), .conditionFailed(currentVersion: firstIndex)])
            #expect(cluster.stateMachine(id).value("counter") == "2")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func commandsSurviveAnEncodeDecodeRoundTrip() throws {
        var random = SeededRandom(seed: 0xC0FFEE)
        let fixed: [CellCommand] = [
            .put("", "", client: 0, sequence: 0),
            .put("k", "v", client: .max, sequence: .max),
            CellCommand(clientID: 1, sequence: 2, operation: .delete(key: [])),
            .compareAndSwap("k", expected: nil, new: "", client: 3, sequence: 4),
            .compareAndSwap("k", expected: "", new: "x", client: 3, sequence: 5),
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
        let unknownKind = #expect(throws: CellCommand.DecodingError.self) {
            try CellCommand(decoding: [UInt8](repeating: 0, count: 16) + [9])
        }
        #expect(unknownKind?.reason == "unknown command kind 9")
    }

    @Test func decodingRandomOrMutatedBytesEitherFailsWithADecodingErrorOrYieldsAStableCommand() {
        var random = SeededRandom(seed: 0xBADF00D)
        var failures = 0
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<random.int(0...64)).map { _ in random.byte() }
                // Often a plausible header, so that decoding goes deeper than the kind byte.
                if bytes.count > 16, random.int(0...1) == 0 { bytes[16] = UInt8(random.int(1...3)) }
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

    mutating func command() -> CellCommand {
        let operation: CellCommand.Operation
        switch int(0...2) {
        case 0: operation = .put(key: bytes(upTo: 24), value: bytes(upTo: 40))
        case 1: operation = .delete(key: bytes(upTo: 24))
        default:
            operation = .compareAndSwap(
                key: bytes(upTo: 24), expected: int(0...1) == 0 ? nil : bytes(upTo: 16), new: bytes(upTo: 16))
        }
        return CellCommand(clientID: next(), sequence: next(), operation: operation)
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
            // The first length field sits right after the 17-byte header.
            if bytes.count >= 21 { bytes.replaceSubrange(17..<21, with: [0xFF, 0xFF, 0xFF, UInt8(int(0...0xFF))]) }
        }
    }
}
