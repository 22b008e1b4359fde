/// One counter per id that only goes up by one: an increment reports the value
/// it made, so two increments that report the same value expose a lost update,
/// which a register's puts cannot express. Every counter starts at 0.
public struct CounterModel: SequentialModel {
    public enum Input: Hashable, Sendable {
        /// Returns the counter's value after adding one.
        case increment(String)
        case read(String)

        public var key: String {
            switch self {
            case .increment(let key), .read(let key): key
            }
        }
    }

    public typealias Output = Int64
    public typealias State = Int64

    public init() {}

    public func partition(_ input: Input) -> String { input.key }

    public func initialState(for key: String) -> Int64 { 0 }

    public func step(_ state: Int64, _ input: Input, _ output: Int64?) -> (legal: Bool, newState: Int64) {
        switch input {
        case .increment:
            let next = state + 1
            return (output.map { $0 == next } ?? true, next)
        case .read:
            return (output.map { $0 == state } ?? true, state)
        }
    }

    public func mayChangeState(_ input: Input) -> Bool {
        if case .read = input { return false }
        return true
    }

    public func describe(_ input: Input, _ output: Int64?) -> String {
        let call = switch input {
        case .increment(let counter): "increment(\(counter))"
        case .read(let counter): "read(\(counter))"
        }
        return "\(call) -> \(output.map { "\($0)" } ?? "?")"
    }
}
