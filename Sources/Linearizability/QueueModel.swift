/// One FIFO queue per key. A dequeue names the value it took, so the checker can
/// tell a value delivered twice, or overtaken by a later one, from a slow dequeue.
public struct QueueModel: SequentialModel {
    public enum Input: Hashable, Sendable {
        case enqueue(String, Int64)
        case dequeue(String)

        public var key: String {
            switch self {
            case .enqueue(let key, _), .dequeue(let key): key
            }
        }
    }

    /// One enum for both operations, because a history carries a single output type.
    public enum Output: Hashable, Sendable {
        case enqueued
        case dequeued(Int64)
        /// A dequeue that found the queue empty and changed nothing.
        case empty
    }

    /// The values from front to back, so the next one out is `first`.
    public typealias State = [Int64]

    public init() {}

    public func partition(_ input: Input) -> String { input.key }

    public func initialState(for key: String) -> [Int64] { [] }

    public func step(_ state: [Int64], _ input: Input, _ output: Output?) -> (legal: Bool, newState: [Int64]) {
        switch (input, output) {
        case (.enqueue(_, let value), nil), (.enqueue(_, let value), .enqueued?):
            return (true, state + [value])
        case (.dequeue, nil):  // took the front if there was one
            return (true, Array(state.dropFirst()))
        case (.dequeue, .dequeued(let value)?):
            return (state.first == value, Array(state.dropFirst()))
        case (.dequeue, .empty?):
            return (state.isEmpty, state)
        default:  // an output the operation cannot produce, e.g. an enqueue that dequeued
            return (false, state)
        }
    }

    public func describe(_ input: Input, _ output: Output?) -> String {
        let call = switch input {
        case .enqueue(let key, let value): "enqueue(\(key), \(value))"
        case .dequeue(let key): "dequeue(\(key))"
        }
        let result = switch output {
        case nil: "?"
        case .enqueued?: "ok"
        case .dequeued(let value)?: "\(value)"
        case .empty?: "empty"
        }
        return "\(call) -> \(result)"
    }

    public func describe(state: [Int64]) -> String {
        state.isEmpty ? "empty" : "\(state) (front first)"
    }
}
