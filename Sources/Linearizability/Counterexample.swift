/// Where a history stops being linearizable: on one key, the longest order of
/// its operations the model accepts, and the operations none of which can go next.
/// Operations are named by their index in the checked list (`history`).
public struct Counterexample<Model: SequentialModel>: CustomStringConvertible {
    public let key: Model.PartitionKey
    /// The checked operations (failed ones included), which the indices below refer to.
    public let history: [Operation<Model.Input, Model.Output>]
    /// How many operations of this key were searched (failed and dropped ones excluded).
    public let operationCountOnKey: Int
    /// A longest sequence of this key's operations that respects real time and the model.
    public let linearizedPrefix: [Int]
    public let stateAfterPrefix: Model.State
    /// The operations that could have gone next after the prefix (invoked, not yet
    /// linearized), none of which leads to a full linearization.
    public let couldNotPlace: [Int]
    /// The operation whose response closed the window: it must take effect before
    /// it returned, so nothing invoked later may go first.
    public let mustTakeEffectFirst: Int
    /// A readable account of all the above.
    public let description: String

    init(model: Model, key: Model.PartitionKey, history: [Operation<Model.Input, Model.Output>], operationCountOnKey: Int,
         linearizedPrefix: [Int], stateAfterPrefix: Model.State, couldNotPlace: [Int], mustTakeEffectFirst: Int) {
        self.key = key
        self.history = history
        self.operationCountOnKey = operationCountOnKey
        self.linearizedPrefix = linearizedPrefix
        self.stateAfterPrefix = stateAfterPrefix
        self.couldNotPlace = couldNotPlace
        self.mustTakeEffectFirst = mustTakeEffectFirst

        func line(_ index: Int) -> String {
            let operation = history[index]
            var output: Model.Output?
            var returned = "?"
            if case .ok(let value, let time) = operation.outcome {
                output = value
                returned = "\(time)"
            }
            return "#\(index) client \(operation.client): \(model.describe(operation.input, output)) [\(operation.invokedAt), \(returned)]"
        }
        var text = "not linearizable on key \(model.describe(key: key)) (\(operationCountOnKey) operations on it)\n"
        text += "longest linearizable prefix, \(linearizedPrefix.count) operations:\n"
        for index in linearizedPrefix { text += "  \(line(index))\n" }
        text += "state after it: \(model.describe(state: stateAfterPrefix))\n"
        text += "none of these can go next:\n"
        for index in couldNotPlace {
            let operation = history[index]
            let output: Model.Output? = if case .ok(let value, _) = operation.outcome { value } else { nil }
            let legal = model.step(stateAfterPrefix, operation.input, output).legal
            text += "  \(line(index))  \(legal ? "fits here, but every order after it fails" : "the model rejects it in this state")\n"
        }
        if case .ok(_, let returnedAt) = history[mustTakeEffectFirst].outcome {
            text += "and #\(mustTakeEffectFirst) must take effect before it returned at \(returnedAt)"
        }
        description = text
    }
}
