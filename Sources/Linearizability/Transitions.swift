/// The model's steps over one partition's operations, with states numbered so
/// that the search's cache and stack hold plain integers.
struct Transitions<Model: SequentialModel> {
    private let model: Model
    private let inputs: [Model.Input]
    /// nil for unknown outcomes: any output is accepted.
    private let outputs: [Model.Output?]
    private var states: [Model.State] = []
    private var stateNumbers: [Model.State: Int] = [:]

    init(model: Model, initialState: Model.State, inputs: [Model.Input], outputs: [Model.Output?]) {
        self.model = model
        self.inputs = inputs
        self.outputs = outputs
        _ = number(initialState)
    }

    /// The number of the initial state.
    static var initial: Int { 0 }

    subscript(state: Int) -> Model.State { states[state] }

    /// The state after `operation` in `state`, with its recorded output (any
    /// output if unknown), or nil if the model does not allow it.
    mutating func step(_ state: Int, _ operation: Int) -> Int? {
        let (legal, newState) = model.step(states[state], inputs[operation], outputs[operation])
        return legal ? number(newState) : nil
    }

    private mutating func number(_ state: Model.State) -> Int {
        if let number = stateNumbers[state] { return number }
        states.append(state)
        stateNumbers[state] = states.count - 1
        return states.count - 1
    }
}

/// Remembered `Transitions.step` results. The search tries the same operation
/// in the same state many times over (an unknown-outcome write is a candidate
/// at every point after its invocation), and a call through the generic model
/// costs far more than this lookup, which involves no generic type at all.
struct StepMemo {
    private let operationCount: Int
    /// state × operationCount + operation -> state after, or -1 when illegal.
    private var steps: [Int: Int] = [:]

    init(operationCount: Int) { self.operationCount = operationCount }

    /// nil when not yet known; .some(nil) when known to be illegal.
    subscript(state: Int, operation: Int) -> Int?? {
        get { steps[state &* operationCount &+ operation].map { $0 < 0 ? nil : $0 } }
        set { steps[state &* operationCount &+ operation] = newValue.map { $0 ?? -1 } }
    }
}
