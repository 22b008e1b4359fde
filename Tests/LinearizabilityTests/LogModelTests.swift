import Linearizability
import Testing

// Histories against the fenced log model. Times are intervals
// `invoked...returned`; touching intervals count as concurrent.

private typealias LogOperation = Operation<LogModel.Input, LogModel.Output>

extension Operation where Input == LogModel.Input, Output == LogModel.Output {
    /// An operation that returned `output`, invoked and returned at the ends of `interval`.
    fileprivate static func logged(_ client: Int, _ input: Input, _ interval: ClosedRange<Int>, _ output: Output) -> Self {
        Operation(client: client, input: input, invokedAt: interval.lowerBound, outcome: .ok(output, returnedAt: interval.upperBound))
    }

    /// An operation whose client never learned its outcome.
    fileprivate static func unanswered(_ client: Int, _ input: Input, invokedAt: Int) -> Self {
        Operation(client: client, input: input, invokedAt: invokedAt, outcome: .unknown)
    }

    /// An operation the system said did not take effect.
    fileprivate static func refused(_ client: Int, _ input: Input, invokedAt: Int) -> Self {
        Operation(client: client, input: input, invokedAt: invokedAt, outcome: .failed)
    }
}

/// A read's output from (seq, payload) pairs.
private func entries(_ pairs: (UInt64, Int64)...) -> LogModel.Output {
    .entries(pairs.map { LogModel.Entry(seq: $0.0, payload: $0.1) })
}

struct LogModelTests {
    let checker = LinearizabilityChecker(model: LogModel())

    @Test func stepsAppendReadAndTrim() {
        let model = LogModel()
        let empty = model.initialState(for: "q")
        #expect(empty == LogModel.State())
        let two = LogModel.State(payloads: [5, 7])

        #expect(model.step(empty, .append("q", payload: 5, leader: nil), .appended(seq: 1)) == (true, LogModel.State(payloads: [5])))
        #expect(model.step(two, .append("q", payload: 9, leader: nil), .appended(seq: 3)) == (true, LogModel.State(payloads: [5, 7, 9])))
        #expect(model.step(two, .append("q", payload: 9, leader: nil), .appended(seq: 2)).legal == false)
        #expect(model.step(two, .append("q", payload: 9, leader: nil), .fenced(current: nil)).legal == false)
        #expect(model.step(two, .append("q", payload: 9, leader: nil), nil) == (true, LogModel.State(payloads: [5, 7, 9])))

        #expect(model.step(two, .tail("q"), .tail(2)) == (true, two))
        #expect(model.step(two, .tail("q"), .tail(1)).legal == false)
        #expect(model.step(empty, .tail("q"), .tail(0)) == (true, empty))

        #expect(model.step(two, .read("q", from: 1, max: 10), entries((1, 5), (2, 7))) == (true, two))
        #expect(model.step(two, .read("q", from: 0, max: 10), entries((1, 5), (2, 7))) == (true, two))
        #expect(model.step(two, .read("q", from: 1, max: 1), entries((1, 5))) == (true, two))
        #expect(model.step(two, .read("q", from: 2, max: 10), entries((2, 7))) == (true, two))
        #expect(model.step(two, .read("q", from: 3, max: 10), entries()) == (true, two))
        #expect(model.step(two, .read("q", from: 1, max: 0), entries()) == (true, two))
        #expect(model.step(two, .read("q", from: 1, max: 10), entries((1, 5))).legal == false)
        #expect(model.step(two, .read("q", from: 1, max: 10), entries((1, 7), (2, 5))).legal == false)
        #expect(model.step(two, .read("q", from: 1, max: 10), entries((2, 7), (1, 5))).legal == false)
        #expect(model.step(two, .read("q", from: 1, max: 10), .trimmed(through: 0)).legal == false)
        #expect(model.step(two, .read("q", from: 1, max: 10), nil) == (true, two))

        let trimmed = LogModel.State(payloads: [5, 7, 9], trimmedThrough: 1)
        #expect(model.step(two, .trim("q", through: 1), .trimmedTo(1)) == (true, LogModel.State(payloads: [5, 7], trimmedThrough: 1)))
        #expect(model.step(two, .trim("q", through: 2), .trimmedTo(1)).legal == false)
        #expect(model.step(two, .trim("q", through: 3), .trimmedTo(3)).legal == false)
        #expect(model.step(two, .trim("q", through: 3), .badSequence) == (true, two))
        #expect(model.step(two, .trim("q", through: 3), nil) == (true, two))
        #expect(model.step(two, .trim("q", through: 2), .badSequence).legal == false)
        #expect(model.step(trimmed, .trim("q", through: 0), .trimmedTo(1)) == (true, trimmed))
        #expect(model.step(trimmed, .trim("q", through: 2), nil) == (true, LogModel.State(payloads: [5, 7, 9], trimmedThrough: 2)))
        #expect(model.step(trimmed, .read("q", from: 1, max: 10), .trimmed(through: 1)) == (true, trimmed))
        #expect(model.step(trimmed, .read("q", from: 0, max: 10), .trimmed(through: 1)) == (true, trimmed))
        #expect(model.step(trimmed, .read("q", from: 1, max: 10), .trimmed(through: 2)).legal == false)
        #expect(model.step(trimmed, .read("q", from: 1, max: 10), entries((2, 7), (3, 9))).legal == false)
        #expect(model.step(trimmed, .read("q", from: 2, max: 10), entries((2, 7), (3, 9))) == (true, trimmed))
        #expect(model.step(trimmed, .read("q", from: 2, max: 10), .trimmed(through: 1)).legal == false)
        #expect(model.step(trimmed, .tail("q"), .tail(3)) == (true, trimmed))

        #expect(model.mayChangeState(.read("q", from: 1, max: 1)) == false)
        #expect(model.mayChangeState(.tail("q")) == false)
        #expect(model.mayChangeState(.append("q", payload: 1, leader: nil)))
        #expect(model.mayChangeState(.trim("q", through: 1)))
    }

    @Test func stepsFenceAppendsAndCheckLeaders() {
        let model = LogModel()
        let led = LogModel.State(payloads: [5], leader: "a")

        #expect(model.step(led, .append("q", payload: 7, leader: "a"), .appended(seq: 2)) == (true, LogModel.State(payloads: [5, 7], leader: "a")))
        #expect(model.step(led, .append("q", payload: 7, leader: "a"), .fenced(current: "a")).legal == false)
        #expect(model.step(led, .append("q", payload: 7, leader: "b"), .fenced(current: "a")) == (true, led))
        #expect(model.step(led, .append("q", payload: 7, leader: "b"), .fenced(current: "b")).legal == false)
        #expect(model.step(led, .append("q", payload: 7, leader: "b"), .appended(seq: 2)).legal == false)
        #expect(model.step(led, .append("q", payload: 7, leader: "b"), nil) == (true, led))
        #expect(model.step(led, .append("q", payload: 7, leader: "a"), nil) == (true, LogModel.State(payloads: [5, 7], leader: "a")))
        #expect(model.step(LogModel.State(), .append("q", payload: 7, leader: "a"), .fenced(current: nil)) == (true, LogModel.State()))

        let ledByB = LogModel.State(payloads: [5], leader: "b")
        #expect(model.step(led, .setLeader("q", new: "b", expected: "a"), .leaderSet(previous: "a")) == (true, ledByB))
        #expect(model.step(led, .setLeader("q", new: "b", expected: nil), .leaderSet(previous: "a")) == (true, ledByB))
        #expect(model.step(led, .setLeader("q", new: "b", expected: nil), .leaderSet(previous: nil)).legal == false)
        #expect(model.step(led, .setLeader("q", new: "b", expected: "c"), .leaderMismatch(current: "a")) == (true, led))
        #expect(model.step(led, .setLeader("q", new: "b", expected: "c"), .leaderMismatch(current: "c")).legal == false)
        #expect(model.step(led, .setLeader("q", new: "b", expected: "c"), .leaderSet(previous: "a")).legal == false)
        #expect(model.step(led, .setLeader("q", new: "b", expected: "a"), .leaderMismatch(current: "a")).legal == false)
        #expect(model.step(led, .setLeader("q", new: "b", expected: "c"), nil) == (true, led))
        #expect(model.step(led, .setLeader("q", new: "b", expected: "a"), nil) == (true, ledByB))
    }

    @Test func describesOperationsReadably() {
        let model = LogModel()
        #expect(model.describe(.append("q", payload: 7, leader: "a"), .appended(seq: 3)) == "append(q, 7, leader: a) -> seq 3")
        #expect(model.describe(.append("q", payload: 7, leader: nil), nil) == "append(q, 7) -> ?")
        #expect(model.describe(.read("q", from: 2, max: 10), entries((2, 5), (3, 7))) == "read(q, from: 2, max: 10) -> [2:5, 3:7]")
        #expect(model.describe(.read("q", from: 1, max: 10), .trimmed(through: 2)) == "read(q, from: 1, max: 10) -> trimmed through 2")
        #expect(model.describe(.setLeader("q", new: "b", expected: "a"), .leaderSet(previous: "a")) == "setLeader(q, b, expected: a) -> set, previous a")
        #expect(model.describe(.append("q", payload: 7, leader: "a"), .fenced(current: nil)) == "append(q, 7, leader: a) -> fenced, leader none")
        #expect(model.describe(.tail("q"), .tail(3)) == "tail(q) -> 3")
        #expect(model.describe(.trim("q", through: 4), .badSequence) == "trim(q, through: 4) -> bad sequence")
    }

    @Test func aSequentialHistoryIsLinearizable() {
        let history: [LogOperation] = [
            .logged(0, .setLeader("q", new: "a", expected: nil), 0...1, .leaderSet(previous: nil)),
            .logged(0, .append("q", payload: 5, leader: "a"), 2...3, .appended(seq: 1)),
            .logged(0, .append("q", payload: 7, leader: nil), 4...5, .appended(seq: 2)),
            .logged(0, .setLeader("q", new: "b", expected: "c"), 6...7, .leaderMismatch(current: "a")),
            .logged(0, .append("q", payload: 9, leader: "a"), 8...9, .appended(seq: 3)),
            .logged(0, .tail("q"), 10...11, .tail(3)),
            .logged(0, .read("q", from: 1, max: 10), 12...13, entries((1, 5), (2, 7), (3, 9))),
            .logged(0, .read("q", from: 2, max: 1), 14...15, entries((2, 7))),
            .logged(0, .trim("q", through: 1), 16...17, .trimmedTo(1)),
            .logged(0, .read("q", from: 1, max: 10), 18...19, .trimmed(through: 1)),
            .logged(0, .read("q", from: 2, max: 10), 20...21, entries((2, 7), (3, 9))),
            .logged(0, .trim("q", through: 4), 22...23, .badSequence),
            .logged(0, .setLeader("q", new: "b", expected: "a"), 24...25, .leaderSet(previous: "a")),
            .logged(0, .append("q", payload: 11, leader: "a"), 26...27, .fenced(current: "b")),
            .logged(0, .append("q", payload: 13, leader: "b"), 28...29, .appended(seq: 4)),
            .logged(0, .read("q", from: 5, max: 10), 30...31, entries()),
            .logged(0, .tail("q"), 32...33, .tail(4)),
            .logged(1, .tail("r"), 0...1, .tail(0)),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func concurrentAppendsTakeSeqsInSomeOrder() {
        // Invoked 1, 2, 3 at once; they landed as 2, 3, 1, and a read during them saw the first.
        let history: [LogOperation] = [
            .logged(0, .append("q", payload: 1, leader: nil), 0...10, .appended(seq: 3)),
            .logged(1, .append("q", payload: 2, leader: nil), 1...11, .appended(seq: 1)),
            .logged(2, .append("q", payload: 3, leader: nil), 2...12, .appended(seq: 2)),
            .logged(3, .read("q", from: 1, max: 10), 3...4, entries((1, 2))),
            .logged(3, .read("q", from: 1, max: 10), 13...14, entries((1, 2), (2, 3), (3, 1))),
            .logged(3, .tail("q"), 15...16, .tail(3)),
        ]
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func twoAppendsCannotTakeTheSameSeq() throws {
        let history: [LogOperation] = [
            .logged(0, .append("q", payload: 1, leader: nil), 0...10, .appended(seq: 1)),
            .logged(1, .append("q", payload: 2, leader: nil), 1...11, .appended(seq: 1)),
        ]
        let counterexample = try #require(checker.check(history).counterexample)
        #expect(counterexample.key == "q")
    }

    @Test func anAppendCannotSkipASeq() throws {
        var history: [LogOperation] = [
            .logged(0, .append("q", payload: 1, leader: nil), 0...1, .appended(seq: 1)),
            .logged(0, .append("q", payload: 2, leader: nil), 2...3, .appended(seq: 2)),
            .logged(0, .append("q", payload: 3, leader: nil), 4...5, .appended(seq: 3)),
            .logged(0, .append("q", payload: 5, leader: nil), 6...7, .appended(seq: 5)),
        ]
        let counterexample = try #require(checker.check(history).counterexample)
        #expect(counterexample.key == "q")
        #expect(counterexample.linearizedPrefix == [0, 1, 2])
        #expect(counterexample.couldNotPlace == [3])

        // An append whose client never heard back explains the gap.
        history.append(.unanswered(1, .append("q", payload: 4, leader: nil), invokedAt: 4))
        let result = checker.check(history)
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func aReadSeesEveryAppendCompletedBeforeIt() throws {
        let history: [LogOperation] = [
            .logged(0, .append("q", payload: 5, leader: nil), 0...1, .appended(seq: 1)),
            .logged(0, .append("q", payload: 7, leader: nil), 2...3, .appended(seq: 2)),
            .logged(1, .read("q", from: 1, max: 10), 4...5, entries((1, 5))),
        ]
        let counterexample = try #require(checker.check(history).counterexample)
        #expect(counterexample.key == "q")
        #expect(counterexample.couldNotPlace == [2])
    }

    @Test func aReadCannotSeeAnAppendInvokedAfterItReturned() {
        func history(appendInvokedAt: Int) -> [LogOperation] {
            [
                .logged(0, .append("q", payload: 5, leader: nil), 0...1, .appended(seq: 1)),
                .logged(1, .read("q", from: 1, max: 10), 2...3, entries((1, 5), (2, 7))),
                .logged(0, .append("q", payload: 7, leader: nil), appendInvokedAt...5, .appended(seq: 2)),
            ]
        }
        #expect(checker.check(history(appendInvokedAt: 4)).counterexample != nil)
        // Invoked as the read returned: concurrent, so it may have landed first.
        let result = checker.check(history(appendInvokedAt: 3))
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func aDeposedLeaderCannotAppend() {
        func history(appendInvokedAt: Int, output: LogModel.Output) -> [LogOperation] {
            let tail: UInt64 = output == LogModel.Output.appended(seq: 1) ? 1 : 0
            return [
                .logged(0, .setLeader("q", new: "a", expected: nil), 0...1, .leaderSet(previous: nil)),
                .logged(0, .setLeader("q", new: "b", expected: "a"), 2...3, .leaderSet(previous: "a")),
                .logged(1, .append("q", payload: 7, leader: "a"), appendInvokedAt...5, output),
                .logged(0, .tail("q"), 6...7, .tail(tail)),
            ]
        }
        #expect(checker.check(history(appendInvokedAt: 4, output: .appended(seq: 1))).counterexample != nil)
        #expect(checker.check(history(appendInvokedAt: 4, output: .fenced(current: "b"))).isLinearizable)
        // Concurrent with the change of leader: it may have landed just before it.
        #expect(checker.check(history(appendInvokedAt: 3, output: .appended(seq: 1))).isLinearizable)
    }

    @Test func theLeaderIsNotFencedOff() {
        func history(setLeaderInvokedAt: Int, fencedBy current: String?) -> [LogOperation] {
            [
                .logged(0, .setLeader("q", new: "a", expected: nil), 0...1, .leaderSet(previous: nil)),
                .logged(1, .append("q", payload: 7, leader: "a"), 2...3, .fenced(current: current)),
                .logged(0, .setLeader("q", new: "b", expected: "a"), setLeaderInvokedAt...5, .leaderSet(previous: "a")),
            ]
        }
        // Refused while "a" was still the leader, naming it or a leader not yet set.
        #expect(checker.check(history(setLeaderInvokedAt: 4, fencedBy: "a")).counterexample != nil)
        #expect(checker.check(history(setLeaderInvokedAt: 4, fencedBy: "b")).counterexample != nil)
        #expect(checker.check(history(setLeaderInvokedAt: 3, fencedBy: "a")).counterexample != nil)
        // With the change of leader concurrent, "b" may already have taken over.
        let result = checker.check(history(setLeaderInvokedAt: 3, fencedBy: "b"))
        #expect(result.isLinearizable, "\(result)")
    }

    @Test func anUnknownAppendMayOrMayNotBeSeen() {
        func history(read: LogModel.Output) -> [LogOperation] {
            [
                .logged(0, .append("q", payload: 5, leader: nil), 0...1, .appended(seq: 1)),
                .unanswered(1, .append("q", payload: 7, leader: nil), invokedAt: 2),
                .logged(0, .read("q", from: 1, max: 10), 3...4, read),
            ]
        }
        let seen = checker.check(history(read: entries((1, 5), (2, 7))))
        #expect(seen.isLinearizable, "\(seen)")
        let unseen = checker.check(history(read: entries((1, 5))))
        #expect(unseen.isLinearizable, "\(unseen)")
        #expect(checker.check(history(read: entries((1, 5), (2, 7), (3, 7)))).counterexample != nil)

        // Refused by the system: it did not happen, so it cannot be read.
        var refused = history(read: entries((1, 5), (2, 7)))
        refused[1] = .refused(1, .append("q", payload: 7, leader: nil), invokedAt: 2)
        #expect(checker.check(refused).counterexample != nil)
    }

    @Test func anUnknownAppendByADeposedLeaderChangesNothing() {
        let history: [LogOperation] = [
            .logged(0, .setLeader("q", new: "a", expected: nil), 0...1, .leaderSet(previous: nil)),
            .logged(0, .setLeader("q", new: "b", expected: "a"), 2...3, .leaderSet(previous: "a")),
            .unanswered(1, .append("q", payload: 7, leader: "a"), invokedAt: 4),
            .logged(0, .read("q", from: 1, max: 10), 5...6, entries((1, 7))),
        ]
        #expect(checker.check(history).counterexample != nil)
    }

    @Test func readsBelowTheTrimPointSayTrimmed() {
        func history(read: LogModel.Output, from: UInt64 = 1) -> [LogOperation] {
            [
                .logged(0, .append("q", payload: 5, leader: nil), 0...1, .appended(seq: 1)),
                .logged(0, .append("q", payload: 7, leader: nil), 2...3, .appended(seq: 2)),
                .logged(0, .trim("q", through: 1), 4...5, .trimmedTo(1)),
                .logged(1, .read("q", from: from, max: 10), 6...7, read),
            ]
        }
        #expect(checker.check(history(read: .trimmed(through: 1))).isLinearizable)
        #expect(checker.check(history(read: .trimmed(through: 1), from: 0)).isLinearizable)
        #expect(checker.check(history(read: entries((2, 7)), from: 2)).isLinearizable)
        #expect(checker.check(history(read: entries((1, 5), (2, 7)))).counterexample != nil)
        #expect(checker.check(history(read: entries((2, 7)))).counterexample != nil)
        #expect(checker.check(history(read: .trimmed(through: 2))).counterexample != nil)
        #expect(checker.check(history(read: .trimmed(through: 1), from: 2)).counterexample != nil)
    }

    @Test func aReadDuringATrimMaySayEither() {
        func history(read: LogModel.Output) -> [LogOperation] {
            [
                .logged(0, .append("q", payload: 5, leader: nil), 0...1, .appended(seq: 1)),
                .logged(0, .append("q", payload: 7, leader: nil), 2...3, .appended(seq: 2)),
                .logged(0, .trim("q", through: 1), 4...10, .trimmedTo(1)),
                .logged(1, .read("q", from: 1, max: 10), 5...6, read),
                .logged(1, .read("q", from: 1, max: 10), 11...12, .trimmed(through: 1)),
            ]
        }
        #expect(checker.check(history(read: .trimmed(through: 1))).isLinearizable)
        #expect(checker.check(history(read: entries((1, 5), (2, 7)))).isLinearizable)
    }

    @Test func aTrimPastTheTailIsABadSequence() {
        func history(trim: LogModel.Output) -> [LogOperation] {
            [
                .logged(0, .append("q", payload: 5, leader: nil), 0...1, .appended(seq: 1)),
                .logged(0, .trim("q", through: 2), 2...3, trim),
            ]
        }
        #expect(checker.check(history(trim: .badSequence)).isLinearizable)
        #expect(checker.check(history(trim: .trimmedTo(2))).counterexample != nil)
    }
}
