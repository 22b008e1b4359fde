/// A set of operations of one partition, one bit each, with a fingerprint kept
/// up to date on every change, so that hashing a search configuration costs
/// one word rather than n/64 (comparing still checks every word).
struct OperationSet: Hashable {
    /// XOR of a fixed pseudo-random word per member (Zobrist hashing).
    private var fingerprint: UInt64 = 0
    private var words: [UInt64]

    init(capacity: Int) { words = Array(repeating: 0, count: (capacity + 63) / 64) }

    mutating func insert(_ operation: Int) {
        words[operation >> 6] |= 1 << UInt64(operation & 63)
        fingerprint ^= Self.scramble(operation)
    }

    mutating func remove(_ operation: Int) {
        words[operation >> 6] &= ~(1 << UInt64(operation & 63))
        fingerprint ^= Self.scramble(operation)
    }

    func contains(_ operation: Int) -> Bool { words[operation >> 6] & (1 << UInt64(operation & 63)) != 0 }

    /// Both sets must have the same capacity.
    func isSubset(of other: OperationSet) -> Bool {
        for index in words.indices where words[index] & ~other.words[index] != 0 { return false }
        return true
    }

    func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }

    /// SplitMix64's finalizer: distinct operations get unrelated words.
    private static func scramble(_ operation: Int) -> UInt64 {
        var z = UInt64(operation) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
