/// Wing & Gong's search for a linearization of one key's operations, with the
/// memoization of Lowe and Porcupine (see `ConfigurationCache`).
///
/// Call and return entries are kept in time order. At each point the search
/// walks them from the front: a call before the first return entry is an
/// operation it may linearize now (take it out, step the model, start again
/// from the front). The first return entry closes the window: that operation
/// must take effect before anything invoked later, so when nothing in the
/// window fits, the search undoes its last choice and tries the next.
///
/// Unknown-outcome operations never return (they may take effect any time
/// after their invocation) and need not be linearized at all: the search
/// succeeds once every returned operation is. Left unchecked they make the
/// search exponential (every subset of them, in every order), so:
/// - they sit in a list of their own, tried after the returned operations of
///   each window, so that configurations without them are met first and
///   subsume those with them;
/// - of pending unknown operations with equal inputs only the earliest is
///   tried: once all are invoked they are interchangeable;
/// - an unknown operation is skipped when the run of unknown operations just
///   before it would reach the same state with one of them left out: that
///   shorter run is tried too, and leaves more options.
struct PartitionSearch<Model: SequentialModel> {
    enum Verdict {
        case linearizable
        case notLinearizable(Deepest)
        case timedOut
    }

    /// The deepest point the search reached, for the counterexample, in
    /// partition-local operation indices and state numbers (see `state(numbered:)`).
    struct Deepest {
        var prefix: [Int] = []
        var state: Int
        var couldNotPlace: [Int]? = nil
        var mustTakeEffectFirst = -1
    }

    private var transitions: Transitions<Model>
    private var memo: StepMemo
    /// Each operation's index among the returned ones, or among the unknown ones.
    private let slot: [Int]
    /// For an unknown operation, the previous unknown one with an equal input, or -1.
    private let earlierTwin: [Int]
    private let returnedCount: Int
    private let unknownCount: Int
    private var returnedList: EntryList
    private var unknownList: EntryList

    init(model: Model, key: Model.PartitionKey, operations: [Operation<Model.Input, Model.Output>]) {
        let inputs = operations.map(\.input)
        var outputs: [Model.Output?] = []
        var returnedAt: [Int?] = []
        var slot: [Int] = []
        var returned: [Int] = []
        var unknown: [Int] = []
        for (index, operation) in operations.enumerated() {
            if case .ok(let output, let time) = operation.outcome {
                outputs.append(output)
                returnedAt.append(time)
                slot.append(returned.count)
                returned.append(index)
            } else {  // unknown; the checker never passes failed operations
                outputs.append(nil)
                returnedAt.append(nil)
                slot.append(unknown.count)
                unknown.append(index)
            }
        }
        transitions = Transitions(model: model, initialState: model.initialState(for: key), inputs: inputs, outputs: outputs)
        memo = StepMemo(operationCount: operations.count)
        self.slot = slot
        returnedCount = returned.count
        unknownCount = unknown.count
        let invokedAt = operations.map(\.invokedAt)
        returnedList = EntryList(operations: returned, invokedAt: invokedAt, returnedAt: returnedAt)
        unknownList = EntryList(operations: unknown, invokedAt: invokedAt, returnedAt: returnedAt)

        var lastWithInput: [Model.Input: Int] = [:]
        var earlierTwin = Array(repeating: -1, count: operations.count)
        var entry = unknownList.first
        while entry != unknownList.tail {  // in invocation order
            let operation = unknownList.operation[entry]
            earlierTwin[operation] = lastWithInput.updateValue(operation, forKey: inputs[operation]) ?? -1
            entry = unknownList.next[entry]
        }
        self.earlierTwin = earlierTwin
    }

    mutating func run(maxStates: Int, deadline: ContinuousClock.Instant?) -> Verdict {
        var state = Transitions<Model>.initial  // states are numbered by `transitions`
        var returned = OperationSet(capacity: returnedCount)
        var unknown = OperationSet(capacity: unknownCount)
        var cache = ConfigurationCache()
        _ = cache.insert(.init(returned: returned, state: state), unknown: unknown)
        var stack: [Frame] = []
        var returnedLeft = returnedCount
        var deepest = Deepest(state: state)
        var deepestSharesStackBelow = 0  // deepest.prefix[..<this] still equals the stack's operations
        var inUnknownPass = false
        var windowEnd = returnedList.tail
        var entry = returnedList.first
        var iterations = 0

        while returnedLeft > 0 {
            iterations += 1
            if iterations & 0xFFF == 1, let deadline, ContinuousClock.now >= deadline { return .timedOut }

            // Find the next candidate in this window, or learn that there is none.
            if !inUnknownPass {
                assert(entry != returnedList.tail, "a returned operation's return entry is always ahead")
                if returnedList.isReturn[entry] {
                    windowEnd = entry
                    inUnknownPass = true
                    entry = unknownList.first
                    continue
                }
            } else if unknownList.time[entry] > returnedList.time[windowEnd] {
                // Nothing in the window fits: undo the last choice.
                if stack.count == deepest.prefix.count, deepest.couldNotPlace == nil {
                    deepest.couldNotPlace = callsInWindow(closedBy: windowEnd)
                    deepest.mustTakeEffectFirst = returnedList.operation[windowEnd]
                }
                guard let frame = stack.popLast() else { return .notLinearizable(deepest) }
                if frame.isUnknown {
                    unknownList.unlift(frame.call)
                    unknown.remove(slot[unknownList.operation[frame.call]])
                    windowEnd = frame.windowEnd
                    entry = unknownList.next[frame.call]
                } else {
                    returnedList.unlift(frame.call)
                    returned.remove(slot[returnedList.operation[frame.call]])
                    returnedLeft += 1
                    inUnknownPass = false
                    entry = returnedList.next[frame.call]
                }
                state = frame.stateBefore
                deepestSharesStackBelow = min(deepestSharesStackBelow, stack.count)
                continue
            } else {
                let twin = earlierTwin[unknownList.operation[entry]]
                if twin >= 0, !unknown.contains(slot[twin]) {
                    entry = unknownList.next[entry]
                    continue
                }
            }

            // Try to linearize the candidate next.
            let operation = inUnknownPass ? unknownList.operation[entry] : returnedList.operation[entry]
            if let newState = step(state, operation),
               !inUnknownPass || !leavesAnUnknownPointless(operation, newState, stack) {
                if inUnknownPass { unknown.insert(slot[operation]) } else { returned.insert(slot[operation]) }
                if cache.insert(.init(returned: returned, state: newState), unknown: unknown) {
                    if cache.count > maxStates { return .timedOut }
                    stack.append(Frame(call: entry, isUnknown: inUnknownPass, stateBefore: state, windowEnd: windowEnd))
                    state = newState
                    if inUnknownPass { unknownList.lift(entry) } else {
                        returnedList.lift(entry)
                        returnedLeft -= 1
                    }
                    if stack.count > deepest.prefix.count {
                        deepest.prefix.removeSubrange(deepestSharesStackBelow...)
                        deepest.prefix += stack[deepestSharesStackBelow...].map(operation(of:))
                        deepest.state = newState
                        deepest.couldNotPlace = nil
                        deepestSharesStackBelow = stack.count
                    }
                    inUnknownPass = false
                    entry = returnedList.first
                    continue
                }
                if inUnknownPass { unknown.remove(slot[operation]) } else { returned.remove(slot[operation]) }
            }
            entry = inUnknownPass ? unknownList.next[entry] : returnedList.next[entry]
        }
        return .linearizable
    }

    func state(numbered number: Int) -> Model.State { transitions[number] }

    private mutating func step(_ state: Int, _ operation: Int) -> Int? {
        if let known = memo[state, operation] { return known }
        let after = transitions.step(state, operation)
        memo[state, operation] = after
        return after
    }

    private func operation(of frame: Frame) -> Int {
        frame.isUnknown ? unknownList.operation[frame.call] : returnedList.operation[frame.call]
    }

    /// Whether linearizing the unknown `operation` now, reaching `newState`,
    /// would make one of the unknown operations linearized just before it
    /// (since the last returned one) pointless: the same run without that one
    /// reaches the same state. Looks at the last few only, to bound the cost.
    private mutating func leavesAnUnknownPointless(_ operation: Int, _ newState: Int, _ stack: [Frame]) -> Bool {
        var runStart = stack.count
        while runStart > 0, stack.count - runStart < 8, stack[runStart - 1].isUnknown { runStart -= 1 }
        for left in runStart..<stack.count {
            var state: Int? = stack[runStart].stateBefore
            for index in runStart..<stack.count where index != left {
                state = state.flatMap { step($0, unknownList.operation[stack[index].call]) }
            }
            if let state, step(state, operation) == newState { return true }
        }
        return false
    }

    /// The operations that could go next in the window closed by `windowEnd`.
    private func callsInWindow(closedBy windowEnd: Int) -> [Int] {
        var calls: [Int] = []
        var entry = returnedList.first
        while entry != windowEnd {
            if !returnedList.isReturn[entry] { calls.append(returnedList.operation[entry]) }
            entry = returnedList.next[entry]
        }
        entry = unknownList.first
        while unknownList.time[entry] <= returnedList.time[windowEnd] {
            calls.append(unknownList.operation[entry])
            entry = unknownList.next[entry]
        }
        return calls
    }
}

/// One choice of the search: an operation linearized, and how to undo it.
/// Not nested in the generic search, so that the stack is a plain array.
private struct Frame {
    /// The call entry linearized, in the returned or the unknown list.
    let call: Int
    let isUnknown: Bool
    let stateBefore: Int
    /// The entry in the returned list closing the window when `call` was linearized.
    let windowEnd: Int
}
