import Linearizability
import Testing

/// Operations whose client never learned the outcome may have taken effect at
/// any time after their invocation, or never.
struct UnknownOutcomeTests {
    @Test(arguments: [1, 2])
    func anUnknownWriteMayOrMayNotHaveTakenEffect(readValue: Int) {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            unknown(1, .put("x", 2), invokedAt: 2),
            op(0, .get("x"), 3...4, .value(readValue)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func anUnknownWriteMayTakeEffectLongAfterItsClientGaveUp() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            unknown(1, .put("x", 2), invokedAt: 2),
            op(0, .get("x"), 3...4, .value(1)),
            op(0, .get("x"), 50...51, .value(1)),
            op(0, .get("x"), 52...53, .value(2)),
            op(2, .get("x"), 54...55, .value(2)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func anUnknownWriteTakesEffectOnce() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            unknown(1, .put("x", 2), invokedAt: 2),
            op(0, .get("x"), 3...4, .value(2)),
            op(0, .get("x"), 5...6, .value(1)),
        ])
        #expect(result.counterexample != nil, "\(result)")
    }

    @Test func anUnknownWriteCannotTakeEffectBeforeItsInvocation() {
        let result = check([
            op(0, .get("x"), 0...1, .value(2)),
            unknown(1, .put("x", 2), invokedAt: 2),
        ])
        #expect(result.counterexample != nil, "\(result)")
    }

    @Test func anUnknownCompareAndSwapFollowsItsCondition() {
        func history(expected: Int, read: Int) -> [RegisterOperation] {
            [
                op(0, .put("x", 1), 0...1, .ok),
                unknown(1, .cas("x", expected: expected, new: 2), invokedAt: 2),
                op(0, .get("x"), 3...4, .value(read)),
            ]
        }
        #expect(check(history(expected: 1, read: 2)).isLinearizable)
        #expect(check(history(expected: 1, read: 1)).isLinearizable)
        #expect(check(history(expected: 1, read: 3)).counterexample != nil)
        #expect(check(history(expected: 5, read: 2)).counterexample != nil)
    }

    @Test func equalUnknownWritesMayEachTakeEffect() {
        // Interchangeable, but not one and the same: 1 is read, overwritten, and read again.
        let result = check([
            unknown(1, .put("x", 1), invokedAt: 0),
            unknown(2, .put("x", 1), invokedAt: 0),
            op(0, .get("x"), 1...2, .value(1)),
            op(0, .put("x", 2), 3...4, .ok),
            op(0, .get("x"), 5...6, .value(1)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func aRunOfUnknownCompareAndSwapsMayAllTakeEffect() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            unknown(1, .cas("x", expected: 2, new: 3), invokedAt: 2),
            unknown(2, .cas("x", expected: 1, new: 2), invokedAt: 3),
            op(0, .get("x"), 4...5, .value(3)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func aReadSeesAnyOfManyUnknownWritesOrNone() {
        let writes = (1...12).map { unknown($0, .put("x", $0 * 10), invokedAt: $0) }
        for read in [nil, 10, 60, 120] {
            let result = check(writes + [op(0, .get("x"), 20...21, .value(read))])
            #expect(result.isLinearizable, "read \(String(describing: read)): \(result)")
        }
        #expect(check(writes + [op(0, .get("x"), 20...21, .value(55))]).counterexample != nil)
    }

    @Test func unknownReadsAreDroppedRatherThanSearched() {
        // 60 reads that never returned could each be placed anywhere; kept, they
        // would multiply the configurations. They constrain nothing, so the
        // checker drops them and answers within a small budget.
        let reads = (1...60).map { unknown($0, .get("x"), invokedAt: $0) }
        let history = reads + [
            op(0, .put("x", 1), 0...1, .ok),
            op(0, .put("x", 2), 70...71, .ok),
            op(0, .get("x"), 72...73, .value(1)),
        ]
        let result = check(history, limits: CheckLimits(maxStatesPerKey: 100))
        #expect(result.counterexample?.linearizedPrefix == [60, 61], "\(result)")
    }

    @Test func anUnknownOperationTheModelWouldRejectMayBeLeftOut() {
        // A latch can be set once. The second set never returned, and no point
        // after its invocation accepts it: the only explanation is that it never
        // took effect, which the checker must allow (placing it last is not enough).
        let latch = LinearizabilityChecker(model: LatchModel())
        let once = [
            Operation(client: 0, input: "door", invokedAt: 0, outcome: .ok(true, returnedAt: 1)),
            Operation(client: 1, input: "door", invokedAt: 2, outcome: Outcome<Bool>.unknown),
        ]
        #expect(latch.check(once).isLinearizable)
        var twice = once
        twice[1].outcome = .ok(true, returnedAt: 3)
        #expect(latch.check(twice).counterexample != nil)
    }

    @Test func invocationsStillOpenAtTheEndOfAnEventHistoryAreUnknown() throws {
        var history = History<Register.Input, Register.Output>()
        history.invoke(.put("x", 1), client: 0)
        history.ok(.ok, client: 0)
        history.invoke(.put("x", 2), client: 1)   // times out: info
        history.info(client: 1)
        history.invoke(.put("x", 3), client: 2)   // never answered
        history.invoke(.get("x"), client: 0)
        history.ok(.value(3), client: 0)
        let checker = LinearizabilityChecker(model: Register())
        #expect(try checker.check(history).isLinearizable)

        history.invoke(.get("x"), client: 0)
        history.ok(.value(2), client: 0)   // 2 after 3 is fine: the write of 2 may land late
        #expect(try checker.check(history).isLinearizable)

        history.invoke(.get("x"), client: 0)
        history.ok(.value(3), client: 0)   // but not 3 again: each write takes effect once
        #expect(try checker.check(history).counterexample != nil)
    }
}

/// A latch per key that can be set once; setting it again is illegal whatever
/// the output. Output is unused.
struct LatchModel: SequentialModel {
    func partition(_ input: String) -> String { input }
    func initialState(for key: String) -> Bool { false }
    func step(_ isSet: Bool, _ input: String, _ output: Bool?) -> (legal: Bool, newState: Bool) { (!isSet, true) }
}
