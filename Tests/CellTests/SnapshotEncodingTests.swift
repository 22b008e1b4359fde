import Cell
import Testing

/// The state machine as snapshot bytes: deterministic, complete, and strict about what it accepts.
struct SnapshotEncodingTests {
    @Test func theLayoutIsPinned() throws {
        #expect(CellStateMachine().encoded() == [0, 0, 0, 0, 0, 0, 0, 0])
        let bytes = Self.oneItemOneSession()
        let expected: [UInt8] = le32(1) + le32(1) + Array("c".utf8) + le32(1)  // collection "c", one item
            + le32(1) + Array("s".utf8) + le32(1) + Array("v".utf8) + le64(1)  // "s" = "v" at version 1
            + le32(1) + le64(7) + le64(1) + le64(1) + le32(1)  // client 7: watermark 1, last used at 1, one result
            + le64(1) + [1] + le64(1)  // sequence 1: applied at 1
        #expect(bytes == expected)
    }

    @Test func aSnapshotRestoresTheSameItemsAndSessions() throws {
        var random = SeededRandom(seed: 0x5A5)
        var machine = CellStateMachine()
        var commands = (0..<600).map { random.workloadCommand(step: $0) }
        for command in commands.prefix(300) { _ = machine.run(command) }
        #expect(machine.itemCount > 15 && machine.sessionCount == 8, "\(machine.itemCount) items, \(machine.sessionCount) sessions")

        var restored = CellStateMachine()
        try restored.restore(Snapshot(index: machine.appliedIndex, ballot: Ballot(3), configuration: [NodeID(1)], state: machine.encoded()))
        #expect(restored == machine && restored.hashValue == machine.hashValue)
        #expect(restored.encoded() == machine.encoded())
        #expect(restored.itemCount == machine.itemCount && restored.sessionCount == machine.sessionCount)
        #expect(try CellStateMachine(encoded: machine.encoded()).appliedIndex == 0, "the applied index is the snapshot's, not in the bytes")

        // Sessions came along: the same commands (retries among them) give the same results.
        commands.removeFirst(300)
        commands += commands.prefix(50)
        var results: [CellCommandResult?] = []
        for command in commands {
            results.append(machine.run(command))
            #expect(restored.run(command) == results.last!)
        }
        #expect(restored.encoded() == machine.encoded())
        // The workload did exercise every kind of answer.
        #expect(results.contains(.expired) && results.contains { if case .conditionFailed = $0 { true } else { false } })
        #expect(Set(results.compactMap { if case .applied(let version) = $0 { version } else { nil } }).count < results.count(where: {
            if case .applied = $0 { true } else { false }
        }), "some answers were remembered duplicates")
    }

    @Test func truncatedOrExtendedSnapshotsAreRejected() throws {
        var random = SeededRandom(seed: 0x7A1)
        var machine = CellStateMachine()
        for step in 0..<40 { _ = machine.run(random.workloadCommand(step: step)) }
        let bytes = machine.encoded()
        var accepted: [Int] = []
        for length in 0..<bytes.count where (try? CellStateMachine(encoded: Array(bytes[..<length]))) != nil { accepted.append(length) }
        #expect(accepted.isEmpty, "prefixes of \(bytes.count) bytes decoded: \(accepted.prefix(5))")
        let error = #expect(throws: CellCommand.DecodingError.self) { try CellStateMachine(encoded: bytes + [0]) }
        #expect(error?.reason == "trailing bytes after snapshot")
        var target = machine
        #expect(throws: CellCommand.DecodingError.self) {
            try target.restore(Snapshot(index: 1, ballot: Ballot(1), configuration: [], state: Array(bytes.dropLast())))
        }
        #expect(target == machine, "a failed restore leaves the state alone")
    }

    @Test func corruptCountsKindsAndOrderAreRejectedWithoutAllocating() {
        let good = Self.oneItemOneSession()
        func corrupt(_ range: Range<Int>, _ replacement: [UInt8]) -> String? {
            var bytes = good
            bytes.replaceSubrange(range, with: replacement)
            do {
                _ = try CellStateMachine(encoded: bytes)
                return nil
            } catch {
                return error.reason
            }
        }
        let huge = le32(.max)
        #expect(corrupt(0..<4, huge)?.contains("collections cannot fit") == true)
        #expect(corrupt(9..<13, huge)?.contains("items cannot fit") == true)
        #expect(corrupt(9..<13, le32(0))?.hasPrefix("empty collection") == true)
        #expect(corrupt(31..<35, huge)?.contains("sessions cannot fit") == true)
        #expect(corrupt(59..<63, huge)?.contains("results cannot fit") == true)
        #expect(corrupt(71..<72, [9]) == "unknown result kind 9")
        #expect(corrupt(43..<51, le64(2))?.hasPrefix("result below its session's watermark") == true)
        // A second item whose sort key does not come after the first.
        #expect(corrupt(9..<13, le32(2) + le32(1) + Array("t".utf8) + le32(0) + le64(1))?.hasPrefix("items out of sort-key order") == true)
    }

    @Test func mutatedSnapshotsEitherFailOrAreExactlyTheEncodingOfWhatTheyDecodeTo() {
        var random = SeededRandom(seed: 0xD1CE)
        var machine = CellStateMachine()
        for step in 0..<30 { _ = machine.run(random.workloadCommand(step: step)) }
        let original = machine.encoded()
        var decoded = 0
        for _ in 0..<5_000 {
            var bytes = original
            for _ in 0...random.int(0...2) { random.mutate(&bytes) }
            guard let state = try? CellStateMachine(encoded: bytes) else { continue }
            decoded += 1
            // Only canonical bytes decode, so equal states always give equal snapshots.
            #expect(state.encoded() == bytes)
        }
        #expect(decoded > 50, "decoded \(decoded)")
    }

    /// Client 7's put of "c"/"s" = "v" as the first entry.
    static func oneItemOneSession() -> [UInt8] {
        var machine = CellStateMachine()
        _ = machine.run(CellCommand(clientID: 7, sequence: 1, acknowledgedBelow: 1, writes: [.put(.named("c", "s"), "v")]))
        return machine.encoded()
    }
}

func le32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
func le64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

extension SeededRandom {
    /// Request number `step` of a workload: one of a few clients over a few keys,
    /// puts, deletes and conditions that sometimes hold, sequences that rise
    /// with `step` but overlap (retries, concurrent requests), so that sessions
    /// hold several results and some requests expire.
    mutating func workloadCommand(step: Int) -> CellCommand {
        let client = UInt64(int(1...8))
        let sequence = UInt64(step / 4 + int(0...6))
        let acknowledgedBelow = sequence - UInt64(int(0...min(6, Int(sequence))))
        let writes = (0..<int(1...3)).map { _ in
            ItemWrite(key: ItemKey(collection: [UInt8(int(0...2))], sortKey: [UInt8(int(0...9))]),
                      value: int(0...3) == 0 ? nil : [byte()],
                      condition: int(0...1) == 0 ? .none : condition(version: UInt64(int(0...40))))
        }
        return CellCommand(clientID: client, sequence: sequence, acknowledgedBelow: acknowledgedBelow, writes: writes)
    }
}
