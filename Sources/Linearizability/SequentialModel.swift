/// The sequential specification a history is checked against: a deterministic
/// state machine per partition (per key), so each key's sub-history is checked alone.
public protocol SequentialModel: Sendable {
    /// Hashable, so that unknown-outcome operations with equal inputs can be told interchangeable.
    associatedtype Input: Hashable
    associatedtype Output
    /// Hashable, because the search remembers (linearized operations, state) pairs it has seen.
    associatedtype State: Hashable
    associatedtype PartitionKey: Hashable

    /// The key an operation touches; operations on different keys are independent.
    func partition(_ input: Input) -> PartitionKey

    /// The state of a key before any operation.
    func initialState(for key: PartitionKey) -> State

    /// Whether `input` may take effect in `state` and return `output`, and the state after.
    /// `output` is nil when the outcome is unknown: then any output the operation could
    /// have produced is accepted, and the state after is the one it would have made.
    func step(_ state: State, _ input: Input, _ output: Output?) -> (legal: Bool, newState: State)

    /// False for operations that never change the state (reads). An unknown-outcome
    /// operation of that kind constrains nothing, so the checker drops it rather than
    /// widening the search. Default: true.
    func mayChangeState(_ input: Input) -> Bool

    /// Text for counterexamples. Defaults: `String(describing:)`.
    func describe(_ input: Input, _ output: Output?) -> String
    func describe(state: State) -> String
    func describe(key: PartitionKey) -> String
}

extension SequentialModel {
    public func mayChangeState(_ input: Input) -> Bool { true }

    public func describe(_ input: Input, _ output: Output?) -> String {
        "\(input) -> \(output.map { String(describing: $0) } ?? "?")"
    }

    public func describe(state: State) -> String { String(describing: state) }
    public func describe(key: PartitionKey) -> String { String(describing: key) }
}
