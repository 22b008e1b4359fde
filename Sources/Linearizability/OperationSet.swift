/// A set of operations of one partition, one bit each, so that a search
/// configuration hashes and compares in n/64 word operations.
struct OperationSet: Hashable {
    private var words: [UInt64]

    init(capacity: Int) { words = Array(repeating: 0, count: (capacity + 63) / 64) }

    mutating func insert(_ operation: Int) { words[operation >> 6] |= 1 << UInt64(operation & 63) }

    mutating func remove(_ operation: Int) { words[operation >> 6] &= ~(1 << UInt64(operation & 63)) }

    func contains(_ operation: Int) -> Bool { words[operation >> 6] & (1 << UInt64(operation & 63)) != 0 }

    /// Both sets must have the same capacity.
    func isSubset(of other: OperationSet) -> Bool {
        for index in words.indices where words[index] & ~other.words[index] != 0 { return false }
        return true
    }
}
