import Linearizability
import Testing

// Histories against the counter, stack, queue and set models. Times are
// intervals `invoked...returned`; touching intervals count as concurrent.

private typealias CounterOperation = Operation<CounterModel.Input, CounterModel.Output>
private typealias StackOperation = Operation<StackModel.Input, StackModel.Output>
private typealias QueueOperation = Operation<QueueModel.Input, QueueModel.Output>
private typealias SetOperation = Operation<SetModel.Input, SetModel.Output>

extension Operation {
    /// An operation that returned `output`, invoked and returned at the ends of `interval`.
    fileprivate static func returned(_ client: Int, _ input: Input, _ interval: ClosedRange<Int>, _ output: Output) -> Self {
        Operation(client: client, input: input, invokedAt: interval.lowerBound, outcome: .ok(output, returnedAt: interval.upperBound))
    }

    /// An operation whose client never learned its outcome.
    fileprivate static func unknown(_ client: Int, _ input: Input, invokedAt: Int) -> Self {
        Operation(client: client, input: input, invokedAt: invokedAt, outcome: .unknown)
    }

    /// An operation the system said did not take effect.
    fileprivate static func failed(_ client: Int, _ input: Input, invokedAt: Int) -> Self {
        Operation(client: client, input: input, invokedAt: invokedAt, outcome: .failed)
    }
}

struct CounterModelTests {
    let checker = LinearizabilityChecker(model: CounterModel())

    @Test func stepsCountUpFromZero() {
        let model = CounterModel()
        #expect(model.initialState(for: "c") == 0)
        #expect(model.step(0, .increment("c"), 1) == (true, 1))
        #expect(model.step(0, .increment("c"), 2).legal == false)
        #expect(model.step(4, .increment("c"), nil) == (true, 5))
        #expect(model.step(4, .read("c"), 4) == (true, 4))
        #expect(model.step(4, .read("c"), 3).legal == false)
        #expect(model.mayChangeState(.read("c")) == false)
    }

    @Test func concurrentIncrementsTakeTurns() {
        // The later-invoked increment may take effect first; a read between them sees 1.
        let history: [CounterOperation] = [
            .returned(0, .increment("c"), 0...10, 2),
            .returned(1, .increment("c"), 1...11, 1),
            .returned(2, .read("c"), 2...3, 1),
            .returned(2, .read("c"), 12...13, 2),
            .returned(3, .increment("d"), 0...1, 1),
            .returned(3, .read("d"), 2...3, 1),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func twoIncrementsCannotBothReturnOne() throws {
        let history: [CounterOperation] = [
            .returned(0, .increment("c"), 0...10, 1),
            .returned(1, .increment("c"), 1...11, 1),
        ]
        let counterexample = try #require(checker.check(history).counterexample)
        #expect(counterexample.key == "c")
    }

    @Test func aReadAfterACompletedIncrementSeesIt() {
        let history: [CounterOperation] = [
            .returned(0, .increment("c"), 0...1, 1),
            .returned(1, .read("c"), 2...3, 0),
        ]
        #expect(checker.check(history).counterexample != nil)
    }

    @Test func anUnknownIncrementExplainsASkippedValue() {
        var history: [CounterOperation] = [
            .returned(0, .increment("c"), 0...1, 1),
            .unknown(1, .increment("c"), invokedAt: 2),
            .returned(0, .increment("c"), 3...4, 3),
            .returned(0, .read("c"), 5...6, 3),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")

        history[1] = .failed(1, .increment("c"), invokedAt: 2)
        #expect(checker.check(history).counterexample != nil)
    }

    @Test func anUnknownIncrementTakesEffectOnce() {
        let history: [CounterOperation] = [
            .returned(0, .increment("c"), 0...1, 1),
            .unknown(1, .increment("c"), invokedAt: 2),
            .returned(0, .increment("c"), 3...4, 4),
        ]
        #expect(checker.check(history).counterexample != nil)
    }
}

struct StackModelTests {
    let checker = LinearizabilityChecker(model: StackModel())

    @Test func stepsFollowLastInFirstOut() {
        let model = StackModel()
        #expect(model.step([1, 2], .push("s", 3), .pushed) == (true, [1, 2, 3]))
        #expect(model.step([1, 2], .pop("s"), .popped(2)) == (true, [1]))
        #expect(model.step([1, 2], .pop("s"), .popped(1)).legal == false)
        #expect(model.step([1, 2], .pop("s"), .empty).legal == false)
        #expect(model.step([], .pop("s"), .empty) == (true, []))
        #expect(model.step([1, 2], .pop("s"), nil) == (true, [1]))
        #expect(model.step([], .pop("s"), nil) == (true, []))
        #expect(model.step([], .push("s", 1), .empty).legal == false)
    }

    @Test func concurrentPopsTakeTheTopFirst() {
        // Pushed 1 then 2 (either order was possible); the pop invoked later took 2.
        let history: [StackOperation] = [
            .returned(0, .push("s", 1), 0...5, .pushed),
            .returned(1, .push("s", 2), 1...6, .pushed),
            .returned(0, .pop("s"), 7...10, .popped(1)),
            .returned(1, .pop("s"), 8...11, .popped(2)),
            .returned(2, .pop("s"), 12...13, .empty),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func aPopDuringAPushMayMissIt() {
        let history: [StackOperation] = [
            .returned(0, .push("s", 1), 0...1, .pushed),
            .returned(0, .push("s", 2), 2...10, .pushed),
            .returned(1, .pop("s"), 3...4, .popped(1)),
            .returned(1, .pop("s"), 11...12, .popped(2)),
            .returned(1, .pop("s"), 13...14, .empty),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func twoPopsCannotTakeOneValue() throws {
        let history: [StackOperation] = [
            .returned(0, .push("s", 1), 0...1, .pushed),
            .returned(1, .pop("s"), 2...5, .popped(1)),
            .returned(2, .pop("s"), 3...6, .popped(1)),
        ]
        let counterexample = try #require(checker.check(history).counterexample)
        #expect(counterexample.key == "s")
    }

    @Test func aPopCannotReturnAValueNeverPushed() {
        let history: [StackOperation] = [
            .returned(0, .push("s", 1), 0...1, .pushed),
            .returned(1, .pop("s"), 2...3, .popped(7)),
        ]
        #expect(checker.check(history).counterexample != nil)
    }

    @Test func aPopTakesTheLastValuePushed() {
        let history: [StackOperation] = [
            .returned(0, .push("s", 1), 0...1, .pushed),
            .returned(0, .push("s", 2), 2...3, .pushed),
            .returned(1, .pop("s"), 4...5, .popped(1)),
        ]
        #expect(checker.check(history).counterexample != nil)
    }

    @Test func anUnknownPopMayHaveEmptiedTheStack() {
        var history: [StackOperation] = [
            .returned(0, .push("s", 1), 0...1, .pushed),
            .unknown(1, .pop("s"), invokedAt: 2),
            .returned(0, .pop("s"), 3...4, .empty),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")

        history[1] = .failed(1, .pop("s"), invokedAt: 2)
        #expect(checker.check(history).counterexample != nil)
    }

    @Test func anUnknownPushMayBePopped() {
        let history: [StackOperation] = [
            .unknown(1, .push("s", 5), invokedAt: 0),
            .returned(0, .pop("s"), 1...2, .popped(5)),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }
}

struct QueueModelTests {
    let checker = LinearizabilityChecker(model: QueueModel())

    @Test func stepsFollowFirstInFirstOut() {
        let model = QueueModel()
        #expect(model.step([1, 2], .enqueue("q", 3), .enqueued) == (true, [1, 2, 3]))
        #expect(model.step([1, 2], .dequeue("q"), .dequeued(1)) == (true, [2]))
        #expect(model.step([1, 2], .dequeue("q"), .dequeued(2)).legal == false)
        #expect(model.step([], .dequeue("q"), .empty) == (true, []))
        #expect(model.step([1, 2], .dequeue("q"), nil) == (true, [2]))
        #expect(model.step([], .dequeue("q"), nil) == (true, []))
    }

    @Test func concurrentEnqueuesMayLandInEitherOrder() {
        let history: [QueueOperation] = [
            .returned(0, .enqueue("q", 1), 0...10, .enqueued),
            .returned(1, .enqueue("q", 2), 1...11, .enqueued),
            .returned(2, .dequeue("q"), 5...12, .dequeued(2)),
            .returned(2, .dequeue("q"), 13...14, .dequeued(1)),
            .returned(0, .dequeue("q"), 15...16, .empty),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func aLaterEnqueueCannotOvertakeAnEarlierOne() throws {
        let history: [QueueOperation] = [
            .returned(0, .enqueue("q", 1), 0...1, .enqueued),
            .returned(0, .enqueue("q", 2), 2...3, .enqueued),
            .returned(1, .dequeue("q"), 4...5, .dequeued(2)),
        ]
        let counterexample = try #require(checker.check(history).counterexample)
        #expect(counterexample.key == "q")
        #expect(counterexample.linearizedPrefix == [0, 1])
        #expect(counterexample.couldNotPlace == [2])
    }

    @Test func aValueIsDequeuedOnce() {
        let history: [QueueOperation] = [
            .returned(0, .enqueue("q", 7), 0...1, .enqueued),
            .returned(1, .dequeue("q"), 2...5, .dequeued(7)),
            .returned(2, .dequeue("q"), 3...6, .dequeued(7)),
        ]
        #expect(checker.check(history).counterexample != nil)
    }

    @Test func anUnknownDequeueMayHaveTakenTheFront() {
        var history: [QueueOperation] = [
            .returned(0, .enqueue("q", 1), 0...1, .enqueued),
            .returned(0, .enqueue("q", 2), 2...3, .enqueued),
            .unknown(1, .dequeue("q"), invokedAt: 4),
            .returned(0, .dequeue("q"), 5...6, .dequeued(2)),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")

        history[2] = .failed(1, .dequeue("q"), invokedAt: 4)
        #expect(checker.check(history).counterexample != nil)
    }
}

struct SetModelTests {
    let checker = LinearizabilityChecker(model: SetModel())

    @Test func stepsKeepTheElementsSorted() {
        let model = SetModel()
        #expect(model.step([1, 3], .insert("s", 2), true) == (true, [1, 2, 3]))
        #expect(model.step([1, 3], .insert("s", 3), true).legal == false)
        #expect(model.step([1, 3], .insert("s", 3), false) == (true, [1, 3]))
        #expect(model.step([1, 2, 3], .remove("s", 2), true) == (true, [1, 3]))
        #expect(model.step([1, 3], .remove("s", 2), true).legal == false)
        #expect(model.step([1, 3], .remove("s", 2), nil) == (true, [1, 3]))
        #expect(model.step([1, 3], .insert("s", 0), nil) == (true, [0, 1, 3]))
        #expect(model.step([1, 3], .contains("s", 3), true) == (true, [1, 3]))
        #expect(model.step([1, 3], .contains("s", 2), true).legal == false)
        #expect(model.mayChangeState(.contains("s", 1)) == false)
    }

    @Test func oneOfTwoConcurrentInsertsFindsTheElementAbsent() {
        let history: [SetOperation] = [
            .returned(0, .insert("s", 1), 0...10, true),
            .returned(1, .insert("s", 1), 1...11, false),
            .returned(2, .contains("s", 1), 2...3, true),
            .returned(2, .remove("s", 1), 12...13, true),
            .returned(0, .contains("s", 1), 14...15, false),
            .returned(1, .remove("s", 1), 14...15, false),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func readsDuringARemoveSeeThePresentThenTheAbsent() {
        let history: [SetOperation] = [
            .returned(0, .insert("s", 2), 0...1, true),
            .returned(0, .remove("s", 2), 2...10, true),
            .returned(1, .contains("s", 2), 3...4, true),
            .returned(1, .contains("s", 2), 5...6, false),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func aCompletedRemoveIsSeen() throws {
        let history: [SetOperation] = [
            .returned(0, .insert("s", 1), 0...1, true),
            .returned(0, .remove("s", 1), 2...3, true),
            .returned(1, .contains("s", 1), 4...5, true),
        ]
        let counterexample = try #require(checker.check(history).counterexample)
        #expect(counterexample.key == "s")
        #expect(counterexample.couldNotPlace == [2])
    }

    @Test func twoInsertsCannotBothFindTheElementAbsent() {
        let history: [SetOperation] = [
            .returned(0, .insert("s", 1), 0...10, true),
            .returned(1, .insert("s", 1), 1...11, true),
        ]
        #expect(checker.check(history).counterexample != nil)
    }

    @Test func anUnknownRemoveMayLetAnInsertSucceedAgain() {
        var history: [SetOperation] = [
            .returned(0, .insert("s", 1), 0...1, true),
            .unknown(1, .remove("s", 1), invokedAt: 2),
            .returned(0, .insert("s", 1), 3...4, true),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")

        history[1] = .failed(1, .remove("s", 1), invokedAt: 2)
        #expect(checker.check(history).counterexample != nil)
    }
}
