/// Wing & Gong's search for a linearization of one key's operations, with the
/// memoization of Lowe and Porcupine (see `ConfigurationCache`).
///
/// The list holds call and return entries in time order. At each point the
/// search walks it from the front: a call entry before the first return entry
/// is an operation it may linearize now (take it out, step the model, start
/// again from the front). The first return entry closes the window: that
/// operation must take effect before anything invoked later, so when nothing
/// in the window fits, the search undoes its last choice and tries the next.
///
/// Unknown-outcome operations have no return entry (they may take effect any
/// time after their invocation) and need not be linearized at all: the search
/// succeeds once every returned operation is. Left unchecked they make the
/// search exponential (every subset of them, in every order), so:
/// - in each window it tries returned operations first, so that configurations
///   without unknown operations are met first and subsume those with them;
/// - of several pending unknown operations with equal inputs it tries only the
///   earliest: they are interchangeable once all are invoked;
/// - it skips an unknown operation whose state, after a run of unknown
///   operations, would be the same with one of that run left out: that shorter
///   run is tried too, and leaves more options.
struct PartitionSearch<Model: SequentialModel> {
    enum Verdict {
        case linearizable
        case notLinearizable(Deepest)
        case timedOut
    }

    /// The deepest point the search reached, for the counterexample, in partition-local operation indices.
    struct Deepest {
        var prefix: [Int] = []
        var state: Model.State
        var couldNotPlace: [Int]? = nil
        var mustTakeEffectFirst = -1
    }

    private struct Frame {
        let call: Int
        let stateBefore: Model.State
        /// The window's closing return entry when `call` was linearized, to resume the scan of unknown operations.
        let windowEnd: Int
    }

    private enum Pass { case returned, unknown }

    private let model: Model
    private let initialState: Model.State
    private let inputs: [Model.Input]
    /// nil for unknown outcomes: any output is accepted.
    private let outputs: [Model.Output?]
    /// Each operation's index among the returned ones, or among the unknown ones.
    private let slot: [Int]
    /// For an unknown operation, the previous unknown one with an equal input, or -1.
    private let earlierTwin: [Int]
    private let returnedCount: Int
    private var list: EntryList

    init(model: Model, key: Model.PartitionKey, operations: [Operation<Model.Input, Model.Output>]) {
        self.model = model
        initialState = model.initialState(for: key)
        inputs = operations.map(\.input)
        var outputs: [Model.Output?] = []
        var returnedAt: [Int?] = []
        var slot: [Int] = []
        var returnedCount = 0
        var unknownCount = 0
        for operation in operations {
            if case .ok(let output, let time) = operation.outcome {
                outputs.append(output)
                returnedAt.append(time)
                slot.append(returnedCount)
                returnedCount += 1
            } else {  // unknown; the checker never passes failed operations
                outputs.append(nil)
                returnedAt.append(nil)
                slot.append(unknownCount)
                unknownCount += 1
            }
        }
        self.outputs = outputs
        self.slot = slot
        var lastWithInput: [Model.Input: Int] = [:]
        var earlierTwin = Array(repeating: -1, count: operations.count)
        for operation in operations.indices.sorted(by: { (operations[$0].invokedAt, $0) < (operations[$1].invokedAt, $1) })
        where outputs[operation] == nil {
            earlierTwin[operation] = lastWithInput.updateValue(operation, forKey: inputs[operation]) ?? -1
        }
        self.earlierTwin = earlierTwin
        self.returnedCount = returnedCount
        list = EntryList(invokedAt: operations.map(\.invokedAt), returnedAt: returnedAt)
    }

    mutating func run(maxStates: Int, deadline: ContinuousClock.Instant?) -> Verdict {
        var state = initialState
        var returned = OperationSet(capacity: returnedCount)
        var unknown = OperationSet(capacity: inputs.count - returnedCount)
        var cache = ConfigurationCache<Model.State>()
        _ = cache.insert(.init(returned: returned, state: state), unknown: unknown)
        var stack: [Frame] = []
        var returnedLeft = returnedCount
        var deepest = Deepest(state: state)
        var deepestSharesStackBelow = 0  // deepest.prefix[..<this] still equals the stack's operations
        var pass = Pass.returned
        var windowEnd = list.tail
        var entry = list.first
        var iterations = 0

        while returnedLeft > 0 {
            iterations += 1
            if iterations & 0xFFF == 1, let deadline, ContinuousClock.now >= deadline { return .timedOut }

            // Find the next candidate in this window, or learn that there is none.
            if pass == .returned {
                if list.isReturn[entry] {
                    windowEnd = entry
                    pass = .unknown
                    entry = list.first
                    continue
                }
                if outputs[list.operation[entry]] == nil {
                    entry = list.next[entry]
                    continue
                }
            } else if entry != windowEnd {
                let operation = list.operation[entry]
                let twin = outputs[operation] == nil ? earlierTwin[operation] : -1
                if outputs[operation] != nil || (twin >= 0 && !unknown.contains(slot[twin])) {
                    entry = list.next[entry]
                    continue
                }
            }

            if entry == windowEnd {  // nothing in the window fits: undo the last choice
                if stack.count == deepest.prefix.count, deepest.couldNotPlace == nil {
                    deepest.couldNotPlace = callsBefore(windowEnd)
                    deepest.mustTakeEffectFirst = list.operation[windowEnd]
                }
                guard let frame = stack.popLast() else { return .notLinearizable(deepest) }
                let operation = list.operation[frame.call]
                list.unlift(frame.call)
                if outputs[operation] != nil {
                    returned.remove(slot[operation])
                    returnedLeft += 1
                    pass = .returned
                } else {
                    unknown.remove(slot[operation])
                    pass = .unknown
                    windowEnd = frame.windowEnd
                }
                state = frame.stateBefore
                deepestSharesStackBelow = min(deepestSharesStackBelow, stack.count)
                entry = list.next[frame.call]
                continue
            }

            // Try to linearize the candidate next.
            let operation = list.operation[entry]
            let isReturned = outputs[operation] != nil
            let (legal, newState) = model.step(state, inputs[operation], outputs[operation])
            if legal, isReturned || !leavesAnUnknownPointless(operation, newState, stack) {
                if isReturned { returned.insert(slot[operation]) } else { unknown.insert(slot[operation]) }
                if cache.insert(.init(returned: returned, state: newState), unknown: unknown) {
                    if cache.count > maxStates { return .timedOut }
                    stack.append(Frame(call: entry, stateBefore: state, windowEnd: windowEnd))
                    state = newState
                    list.lift(entry)
                    if isReturned { returnedLeft -= 1 }
                    if stack.count > deepest.prefix.count {
                        deepest.prefix.removeSubrange(deepestSharesStackBelow...)
                        deepest.prefix += stack[deepestSharesStackBelow...].map { list.operation[$0.call] }
                        deepest.state = state
                        deepest.couldNotPlace = nil
                        deepestSharesStackBelow = stack.count
                    }
                    pass = .returned
                    entry = list.first
                    continue
                }
                if isReturned { returned.remove(slot[operation]) } else { unknown.remove(slot[operation]) }
            }
            entry = list.next[entry]
        }
        return .linearizable
    }

    /// Whether linearizing the unknown `operation` now, reaching `newState`,
    /// would make one of the unknown operations linearized just before it
    /// (since the last returned one) pointless: the same run without that one
    /// reaches the same state. Looks at the last few only, to bound the cost.
    private func leavesAnUnknownPointless(_ operation: Int, _ newState: Model.State, _ stack: [Frame]) -> Bool {
        var runStart = stack.count
        while runStart > 0, stack.count - runStart < 8, outputs[list.operation[stack[runStart - 1].call]] == nil { runStart -= 1 }
        let run = stack[runStart...].map { list.operation[$0.call] }
        for left in run.indices {
            var state = stack[runStart].stateBefore
            var legal = true
            for (index, other) in run.enumerated() where index != left && legal {
                (legal, state) = model.step(state, inputs[other], nil)
            }
            if legal {
                (legal, state) = model.step(state, inputs[operation], nil)
                if legal, state == newState { return true }
            }
        }
        return false
    }

    /// The operations whose call entries are still in the list before `end`.
    private func callsBefore(_ end: Int) -> [Int] {
        var calls: [Int] = []
        var entry = list.first
        while entry != end {
            if !list.isReturn[entry] { calls.append(list.operation[entry]) }
            entry = list.next[entry]
        }
        return calls
    }
}
