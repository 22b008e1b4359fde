import Linearizability
import Testing

/// Small histories whose verdict is known by hand. Times are written as
/// intervals `invoked...returned`; touching intervals count as concurrent.
struct LinearizableHistoryTests {
    @Test func sequentialOperations() {
        let result = check([
            op(0, .get("x"), 0...1, .value(nil)),
            op(0, .put("x", 1), 2...3, .ok),
            op(1, .get("x"), 4...5, .value(1)),
            op(1, .cas("x", expected: 1, new: 2), 6...7, .ok),
            op(0, .get("x"), 8...9, .value(2)),
            op(0, .delete("x"), 10...11, .ok),
            op(1, .get("x"), 12...13, .value(nil)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test(arguments: [1, 2])
    func concurrentWritesMayTakeEffectInEitherOrder(lastValue: Int) {
        let result = check([
            op(0, .put("x", 1), 0...10, .ok),
            op(1, .put("x", 2), 1...11, .ok),
            op(2, .get("x"), 12...13, .value(lastValue)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func compareAndSwapSucceedsOnlyOnTheExpectedValue() {
        let result = check([
            op(0, .cas("x", expected: nil, new: 1), 0...1, .ok),
            op(0, .cas("x", expected: nil, new: 9), 2...3, .casFailed),
            op(1, .cas("x", expected: 1, new: 2), 4...5, .ok),
            op(1, .cas("x", expected: 1, new: 3), 6...7, .casFailed),
            op(0, .get("x"), 8...9, .value(2)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func ofTwoConcurrentCompareAndSwapsFromOneValueOneWins() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(1, .cas("x", expected: 1, new: 2), 2...10, .casFailed),
            op(2, .cas("x", expected: 1, new: 3), 3...11, .ok),
            op(0, .get("x"), 12...13, .value(3)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func readsDuringAWriteSeeTheOldValueThenTheNew() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(0, .put("x", 2), 2...20, .ok),
            op(1, .get("x"), 3...4, .value(1)),
            op(1, .get("x"), 5...6, .value(2)),
            op(1, .get("x"), 7...8, .value(2)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func overlappingReadsDuringAWriteMaySeeNewThenOld() {
        // The read of 1 may take effect before the write and the read of 2 after
        // it, because the two reads overlap each other.
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(0, .put("x", 2), 2...20, .ok),
            op(1, .get("x"), 3...10, .value(2)),
            op(2, .get("x"), 4...11, .value(1)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func touchingIntervalsAreConcurrent() {
        // A clock too coarse to order a response and an invocation at one tick orders nothing.
        let result = check([
            op(0, .put("x", 1), 0...5, .ok),
            op(1, .get("x"), 5...6, .value(nil)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func keysAreCheckedIndependently() {
        let result = check([
            op(0, .put("x", 1), 0...3, .ok),
            op(1, .put("y", 1), 1...2, .ok),
            op(1, .get("y"), 4...5, .value(1)),
            op(0, .get("x"), 4...6, .value(1)),
            op(2, .get("z"), 0...9, .value(nil)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func keysStartAtTheModelsInitialValues() {
        let result = check([op(0, .get("x"), 0...1, .value(7))], model: Register(initialValues: ["x": 7]))
        #expect(result.isLinearizable, "\(result)")
        #expect(!check([op(0, .get("x"), 0...1, .value(7))]).isLinearizable)
    }

    @Test func failedWritesAreDropped() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            failed(1, .put("x", 2), invokedAt: 2),
            op(0, .get("x"), 3...4, .value(1)),
        ])
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func emptyHistory() {
        #expect(check([]).isLinearizable)
    }
}

struct NonLinearizableHistoryTests {
    @Test func staleReadAfterACompletedWrite() throws {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(1, .put("x", 2), 2...3, .ok),
            op(0, .get("x"), 4...5, .value(1)),
        ])
        let counterexample = try #require(result.counterexample, "\(result)")
        #expect(counterexample.key == "x")
        #expect(counterexample.linearizedPrefix == [0, 1])
        #expect(counterexample.stateAfterPrefix == 2)
        #expect(counterexample.couldNotPlace == [2])
        #expect(counterexample.mustTakeEffectFirst == 2)
    }

    @Test func readOfAValueNeverWritten() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(1, .put("x", 2), 0...3, .ok),
            op(0, .get("x"), 2...5, .value(7)),
        ])
        #expect(result.counterexample?.couldNotPlace.contains(2) == true, "\(result)")
    }

    @Test func twoCompareAndSwapsBothSucceedFromOneExpectedValue() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(1, .cas("x", expected: 1, new: 2), 2...10, .ok),
            op(2, .cas("x", expected: 1, new: 3), 3...11, .ok),
        ])
        #expect(result.counterexample != nil, "\(result)")
    }

    @Test func aLaterReadSeesAnOlderValue() {
        // The write of 2 is still in flight, but once a read has seen it, a read
        // that starts afterwards must not see 1 again.
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(0, .put("x", 2), 2...20, .ok),
            op(1, .get("x"), 3...4, .value(2)),
            op(1, .get("x"), 5...6, .value(1)),
        ])
        #expect(result.counterexample != nil, "\(result)")
    }

    @Test func readOfAFailedWrite() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            failed(1, .put("x", 2), invokedAt: 2),
            op(0, .get("x"), 3...4, .value(2)),
        ])
        #expect(result.counterexample != nil, "\(result)")
    }

    @Test func readAfterADelete() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(0, .delete("x"), 2...3, .ok),
            op(1, .get("x"), 4...5, .value(1)),
        ])
        #expect(result.counterexample != nil, "\(result)")
    }

    @Test func compareAndSwapThatFailedOnTheExpectedValue() {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(0, .cas("x", expected: 1, new: 2), 2...3, .casFailed),
        ])
        #expect(result.counterexample != nil, "\(result)")
    }

    @Test func outputOfTheWrongKind() {
        #expect(check([op(0, .put("x", 1), 0...1, .value(1))]).counterexample != nil)
    }

    @Test func onlyTheFailingKeyIsReported() throws {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(1, .put("y", 1), 0...1, .ok),
            op(1, .put("y", 2), 2...3, .ok),
            op(0, .get("x"), 2...3, .value(1)),
            op(1, .get("y"), 4...5, .value(1)),
        ])
        let counterexample = try #require(result.counterexample, "\(result)")
        #expect(counterexample.key == "y")
        #expect(counterexample.linearizedPrefix == [1, 2])
        #expect(counterexample.couldNotPlace == [4])
    }

    @Test func counterexampleReadsAsText() throws {
        let result = check([
            op(0, .put("x", 1), 0...1, .ok),
            op(1, .put("x", 2), 2...6, .ok),
            op(2, .put("x", 3), 2...6, .ok),
            op(0, .get("x"), 7...8, .value(1)),
        ])
        let counterexample = try #require(result.counterexample, "\(result)")
        #expect(counterexample.description == """
            not linearizable on key x (4 operations on it)
            longest linearizable prefix, 3 operations:
              #0 client 0: put(x, 1) -> ok [0, 1]
              #1 client 1: put(x, 2) -> ok [2, 6]
              #2 client 2: put(x, 3) -> ok [2, 6]
            state after it: 3
            none of these can go next:
              #3 client 0: get(x) -> 1 [7, 8]  the model rejects it in this state
            and #3 must take effect before it returned at 8
            """)
    }
}
