import Cell
import Testing
import Storage

/// One cell's state machine on its own: batches, conditions and client sessions.
struct StateMachineTests {
    let k = ItemKey.named("c", "k")

    @Test func nonCommandEntriesAndUndecodableCommandsOnlyAdvanceTheAppliedIndex() {
        var machine = CellStateMachine()
        let payloads: [LogEntry.Payload] = [.noop, .configuration([NodeID(1)]), .command([1, 2, 3]), .command([])]
        for (offset, payload) in payloads.enumerated() {
            #expect(machine.apply(LogEntry(index: LogIndex(offset + 1), ballot: Ballot(1), payload: payload)) == nil)
        }
        #expect(machine.appliedIndex == 4 && machine.itemCount == 0 && machine.sessionCount == 0)
    }

    @Test func aBatchAppliesAllOfItsWritesOrNone() {
        var machine = CellStateMachine()
        let (a, b, other) = (ItemKey.named("c", "a"), ItemKey.named("c", "b"), ItemKey.named("d", "a"))
        #expect(machine.run([.put(a, "1")]) == .applied(version: 1))

        // The second write's condition fails: the first and third are not applied either.
        #expect(machine.run([.put(b, "2", if: .absent), .put(a, "3", if: .valueEquals(Array("9".utf8))), .put(other, "x")])
            == .conditionFailed(write: 1, currentVersion: 1))
        #expect(machine.read(b) == nil && machine.value(a) == "1" && machine.read(other) == nil && machine.itemCount == 1)

        // Every condition holds: every write lands, versioned with the entry's index.
        #expect(machine.run([.put(b, "2", if: .absent), .delete(a, if: .versionEquals(1)), .put(other, "x")]) == .applied(version: 3))
        #expect(machine.read(a) == nil && machine.itemCount == 2)
        #expect(machine.read(b) == Item(sortKey: Array("b".utf8), version: 3, value: Array("2".utf8)))
        #expect(machine.read(other)?.version == 3)
    }

    @Test func eachWriteOfACommandSeesTheWritesBeforeIt() {
        var machine = CellStateMachine()
        #expect(machine.run([.put(k, "1", if: .absent), .put(k, "2", if: .valueEquals(Array("1".utf8))), .put(k, "3", if: .versionEquals(1))])
            == .applied(version: 1))
        #expect(machine.value(k) == "3" && machine.itemCount == 1)
        #expect(machine.run([.delete(k, if: .exists), .put(k, "4", if: .absent)]) == .applied(version: 2))
        #expect(machine.value(k) == "4")
        #expect(machine.run([.delete(k), .delete(k, if: .exists)]) == .conditionFailed(write: 1, currentVersion: nil))
        // The version a failed condition reports is the one it saw: here the earlier write's, which never landed.
        #expect(machine.run([.put(k, "5"), .put(k, "6", if: .absent)]) == .conditionFailed(write: 1, currentVersion: 4))
        #expect(machine.read(k)?.version == 2 && machine.value(k) == "4")
    }

    @Test func eachConditionKindHoldsExactlyWhenItShould() {
        let v = Array("v".utf8)
        // Condition, holds on an absent item, holds on the item "v" at version 1.
        let table: [(WriteCondition, Bool, Bool)] = [
            (.none, true, true),
            (.absent, true, false),
            (.exists, false, true),
            (.versionEquals(1), false, true),
            (.versionEquals(2), false, false),
            (.versionEquals(0), false, false),
            (.valueEquals(v), false, true),
            (.valueEquals(Array("w".utf8)), false, false),
            (.valueEquals([]), false, false),  // an absent item has no value, not an empty one
        ]
        for (condition, onAbsent, onPresent) in table {
            for present in [false, true] {
                for write in [ItemWrite.put(k, "new", if: condition), .delete(k, if: condition)] {
                    var machine = CellStateMachine()
                    if present { _ = machine.run([.put(k, "v")]) }
                    let before = machine
                    let holds = present ? onPresent : onAbsent
                    let result = machine.run([write])
                    if holds {
                        #expect(result == .applied(version: machine.appliedIndex), "\(condition) on \(present ? "v" : "nothing")")
                        #expect(machine.value(k) == (write.value == nil ? nil : "new"))
                    } else {
                        #expect(result == .conditionFailed(write: 0, currentVersion: present ? 1 : nil), "\(condition) on \(present ? "v" : "nothing")")
                        #expect(machine.read(k) == before.read(k))
                    }
                }
            }
        }
    }

    @Test func retriesOfConcurrentRequestsFromOneClientApplyEachOnceWhateverTheOrder() {
        var machine = CellStateMachine()
        // Client 7 has 5 and 6 outstanding at once: both acknowledge only what is below 5.
        let five = CellCommand.put("five", "5", client: 7, sequence: 5, acknowledgedBelow: 5)
        let six = CellCommand.put("six", "6", client: 7, sequence: 6, acknowledgedBelow: 5)
        #expect(machine.run(six) == .applied(version: 1))
        #expect(machine.run(five) == .applied(version: 2), "6 overtook 5, which must still apply")
        #expect(machine.run(six) == .applied(version: 1))
        #expect(machine.run(five) == .applied(version: 2))
        // A retry after someone else changed the item gets the remembered result and changes nothing.
        #expect(machine.run(.put("five", "other", client: 8, sequence: 1)) == .applied(version: 5))
        #expect(machine.run(five) == .applied(version: 2))
        #expect(machine.value("five") == "other" && machine.read(.named("six"))?.version == 1 && machine.itemCount == 2)
    }

    @Test func requestsBelowTheAcknowledgedWatermarkExpireAndAreNotAppliedAgain() {
        var machine = CellStateMachine()
        #expect(machine.run(.put("a", "1", client: 7, sequence: 1, acknowledgedBelow: 1)) == .applied(version: 1))
        #expect(machine.run(.put("b", "2", client: 7, sequence: 2, acknowledgedBelow: 1)) == .applied(version: 2))
        // Sequence 3 declares 1 and 2 finished: their results are forgotten.
        #expect(machine.run(.put("c", "3", client: 7, sequence: 3, acknowledgedBelow: 3)) == .applied(version: 3))
        #expect(machine.run(.put("a", "1", client: 7, sequence: 1, acknowledgedBelow: 1)) == .expired)
        #expect(machine.run(.put("b", "changed", client: 7, sequence: 2, acknowledgedBelow: 1)) == .expired)
        #expect(machine.read(.named("a"))?.version == 1 && machine.value("b") == "2")
        // At or above the watermark: remembered, or new.
        #expect(machine.run(.put("c", "3", client: 7, sequence: 3, acknowledgedBelow: 3)) == .applied(version: 3))
        #expect(machine.run(.put("d", "4", client: 7, sequence: 4, acknowledgedBelow: 3)) == .applied(version: 7))
        // The watermark never goes down, and other clients have their own.
        #expect(machine.run(.put("e", "5", client: 7, sequence: 5, acknowledgedBelow: 0)) == .applied(version: 8))
        #expect(machine.run(.put("b", "2", client: 7, sequence: 2, acknowledgedBelow: 0)) == .expired)
        #expect(machine.run(.put("f", "6", client: 9, sequence: 2, acknowledgedBelow: 0)) == .applied(version: 10))
        #expect(machine.itemCount == 6)
    }

    @Test func sessionsAreBoundedAndTheLeastRecentlyUsedAreForgottenFirst() throws {
        let maximum = CellStateMachine.sessionsMaximum
        var machine = CellStateMachine()
        for client in 1...maximum {
            #expect(machine.run(.put("k\(client % 10)", "v", client: UInt64(client), sequence: 1)) == .applied(version: LogIndex(client)))
        }
        #expect(machine.sessionCount == maximum)
        // A snapshot taken now restores to a machine that forgets exactly the same sessions.
        var restored = CellStateMachine()
        try restored.restore(Snapshot(index: machine.appliedIndex, ballot: Ballot(1), configuration: [], state: machine.encoded()))

        // Client 1 comes back, so its session is the most recently used; then one client too many.
        for copy in [0, 1] {
            var target = copy == 0 ? machine : restored
            #expect(target.run(.put("k", "again", client: 1, sequence: 2)) == .applied(version: LogIndex(maximum + 1)))
            #expect(target.sessionCount == maximum)
            #expect(target.run(.put("k", "new", client: UInt64(maximum + 1), sequence: 1)) == .applied(version: LogIndex(maximum + 2)))
            if copy == 0 { machine = target } else { restored = target }
        }
        #expect(machine.sessionCount == maximum * 9 / 10)
        #expect(restored.encoded() == machine.encoded())

        // Clients 2…412 were forgotten: a retry from one applies again (the price of the bound).
        let forgotten = maximum + 1 - maximum * 9 / 10
        #expect(forgotten == 411)
        #expect(machine.run(.put("k2", "v", client: 2, sequence: 1)) == .applied(version: LogIndex(maximum + 3)))
        #expect(machine.run(.put("k2", "v", client: 412, sequence: 1)) == .applied(version: LogIndex(maximum + 4)))
        // Client 413 and client 1 were kept: a retry is answered from memory.
        #expect(machine.run(.put("k3", "v", client: 413, sequence: 1)) == .applied(version: 413))
        #expect(machine.run(.put("k1", "v", client: 1, sequence: 1)) == .expired)
    }
}

extension CellStateMachine {
    /// Applies `command` as the next log entry and returns its result.
    mutating func run(_ command: CellCommand) -> CellCommandResult? {
        apply(LogEntry(index: appliedIndex + 1, ballot: Ballot(1), payload: command.payload))?.result
    }

    /// Applies `writes` as a new request of client 1.
    mutating func run(_ writes: [ItemWrite]) -> CellCommandResult? {
        let sequence = appliedIndex + 1
        return run(CellCommand(clientID: 1, sequence: sequence, acknowledgedBelow: sequence, writes: writes))
    }

    func value(_ key: ItemKey) -> String? { read(key).map { String(decoding: $0.value, as: UTF8.self) } }
}

extension ItemWrite {
    static func put(_ key: ItemKey, _ value: String, if condition: WriteCondition = .none) -> ItemWrite {
        ItemWrite(key: key, value: Array(value.utf8), condition: condition)
    }

    static func delete(_ key: ItemKey, if condition: WriteCondition = .none) -> ItemWrite {
        ItemWrite(key: key, value: nil, condition: condition)
    }
}
