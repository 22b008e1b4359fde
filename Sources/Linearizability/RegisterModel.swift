/// One register per key with put, get, compare-and-swap and delete: the
/// sequential behaviour that Tessera's single-key operations must appear to have.
/// A key that was never written, or was deleted, is absent (nil).
public struct RegisterModel<Key: Hashable & Sendable, Value: Hashable & Sendable>: SequentialModel {
    public enum Input: Hashable, Sendable {
        case put(Key, Value)
        case get(Key)
        /// Writes `new` if the current value is `expected` (nil: if the key is absent).
        case cas(Key, expected: Value?, new: Value)
        case delete(Key)

        public var key: Key {
            switch self {
            case .put(let key, _), .get(let key), .cas(let key, _, _), .delete(let key): key
            }
        }
    }

    public enum Output: Hashable, Sendable {
        /// A put, a delete, or a compare-and-swap that swapped.
        case ok
        /// What a get read; nil when the key was absent.
        case value(Value?)
        /// A compare-and-swap that found another value and changed nothing.
        case casFailed
    }

    public typealias State = Value?

    /// Values keys hold before the history starts; other keys start absent.
    public let initialValues: [Key: Value]

    public init(initialValues: [Key: Value] = [:]) { self.initialValues = initialValues }

    public func partition(_ input: Input) -> Key { input.key }

    public func initialState(for key: Key) -> Value? { initialValues[key] }

    public func step(_ state: Value?, _ input: Input, _ output: Output?) -> (legal: Bool, newState: Value?) {
        switch (input, output) {
        case (.put(_, let value), nil), (.put(_, let value), .ok?):
            return (true, value)
        case (.get, nil):
            return (true, state)
        case (.get, .value(let read)?):
            return (read == state, state)
        case (.cas(_, let expected, let new), nil):
            return (true, state == expected ? new : state)
        case (.cas(_, let expected, let new), .ok?):
            return (state == expected, new)
        case (.cas(_, let expected, _), .casFailed?):
            return (state != expected, state)
        case (.delete, nil), (.delete, .ok?):
            return (true, nil)
        default:  // an output the operation cannot produce, e.g. a put that returned a value
            return (false, state)
        }
    }

    public func mayChangeState(_ input: Input) -> Bool {
        if case .get = input { return false }
        return true
    }

    public func describe(_ input: Input, _ output: Output?) -> String {
        let call = switch input {
        case .put(let key, let value): "put(\(key), \(value))"
        case .get(let key): "get(\(key))"
        case .cas(let key, let expected, let new): "cas(\(key), \(Self.text(expected)) -> \(new))"
        case .delete(let key): "delete(\(key))"
        }
        let result = switch output {
        case nil: "?"
        case .ok?: "ok"
        case .value(let value)?: Self.text(value)
        case .casFailed?: "cas failed"
        }
        return "\(call) -> \(result)"
    }

    public func describe(state: Value?) -> String { Self.text(state) }

    private static func text(_ value: Value?) -> String { value.map { "\($0)" } ?? "absent" }
}
