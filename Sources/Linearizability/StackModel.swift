/// One LIFO stack per key. A pop names the value it took, so the checker can
/// tell a value popped twice, or popped out of order, from a merely slow pop.
public struct StackModel: SequentialModel {
    public enum Input: Hashable, Sendable {
        case push(String, Int64)
        case pop(String)

        public var key: String {
            switch self {
            case .push(let key, _), .pop(let key): key
            }
        }
    }

    /// One enum for both operations, because a history carries a single output type.
    public enum Output: Hashable, Sendable {
        case pushed
        case popped(Int64)
        /// A pop that found the stack empty and changed nothing.
        case empty
    }

    /// The values from bottom to top, so the top is `last`.
    public typealias State = [Int64]

    public init() {}

    public func partition(_ input: Input) -> String { input.key }

    public func initialState(for key: String) -> [Int64] { [] }

    public func step(_ state: [Int64], _ input: Input, _ output: Output?) -> (legal: Bool, newState: [Int64]) {
        switch (input, output) {
        case (.push(_, let value), nil), (.push(_, let value), .pushed?):
            return (true, state + [value])
        case (.pop, nil):  // took the top if there was one
            return (true, Array(state.dropLast()))
        case (.pop, .popped(let value)?):
            return (state.last == value, Array(state.dropLast()))
        case (.pop, .empty?):
            return (state.isEmpty, state)
        default:  // an output the operation cannot produce, e.g. a push that popped
            return (false, state)
        }
    }

    public func describe(_ input: Input, _ output: Output?) -> String {
        let call = switch input {
        case .push(let key, let value): "push(\(key), \(value))"
        case .pop(let key): "pop(\(key))"
        }
        let result = switch output {
        case nil: "?"
        case .pushed?: "ok"
        case .popped(let value)?: "\(value)"
        case .empty?: "empty"
        }
        return "\(call) -> \(result)"
    }

    public func describe(state: [Int64]) -> String {
        state.isEmpty ? "empty" : "\(state) (top last)"
    }
}
