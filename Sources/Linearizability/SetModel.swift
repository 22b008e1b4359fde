/// One set of integers per key. Insert and remove report whether they changed
/// the set, so two clients that both "won" the same insert expose a lost update.
public struct SetModel: SequentialModel {
    public enum Input: Hashable, Sendable {
        /// Returns true when the element was absent (and is now present).
        case insert(String, Int64)
        /// Returns true when the element was present (and is now absent).
        case remove(String, Int64)
        case contains(String, Int64)

        public var key: String {
            switch self {
            case .insert(let key, _), .remove(let key, _), .contains(let key, _): key
            }
        }
    }

    public typealias Output = Bool

    /// Sorted and without duplicates, so that equal sets are equal states (the
    /// search memoizes on them) and counterexamples print the elements in order.
    public typealias State = [Int64]

    public init() {}

    public func partition(_ input: Input) -> String { input.key }

    public func initialState(for key: String) -> [Int64] { [] }

    public func step(_ state: [Int64], _ input: Input, _ output: Bool?) -> (legal: Bool, newState: [Int64]) {
        switch input {
        case .insert(_, let element):
            let (index, present) = Self.search(state, element)
            var after = state
            if !present { after.insert(element, at: index) }
            return (output.map { $0 == !present } ?? true, after)
        case .remove(_, let element):
            let (index, present) = Self.search(state, element)
            var after = state
            if present { after.remove(at: index) }
            return (output.map { $0 == present } ?? true, after)
        case .contains(_, let element):
            return (output.map { $0 == Self.search(state, element).present } ?? true, state)
        }
    }

    public func mayChangeState(_ input: Input) -> Bool {
        if case .contains = input { return false }
        return true
    }

    public func describe(_ input: Input, _ output: Bool?) -> String {
        let call = switch input {
        case .insert(let key, let element): "insert(\(key), \(element))"
        case .remove(let key, let element): "remove(\(key), \(element))"
        case .contains(let key, let element): "contains(\(key), \(element))"
        }
        return "\(call) -> \(output.map { "\($0)" } ?? "?")"
    }

    /// Where `element` is in the sorted `elements`, or where it would go.
    private static func search(_ elements: [Int64], _ element: Int64) -> (index: Int, present: Bool) {
        var low = 0
        var high = elements.count
        while low < high {
            let middle = (low + high) / 2
            if elements[middle] < element { low = middle + 1 } else { high = middle }
        }
        return (low, low < elements.count && elements[low] == element)
    }
}
