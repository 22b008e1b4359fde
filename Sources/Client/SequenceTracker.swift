import Synchronization

/// The sequences of one client's writes: each write takes the next one, and
/// `acknowledgedBelow` is the smallest still in flight (every lower one has
/// finished), so a cell may forget the results of sequences below it.
struct SequenceWindow: Sendable, Equatable {
    private(set) var next: UInt64
    /// Every sequence below `low` has finished; `low` is in flight or equals `next`.
    private(set) var low: UInt64
    private(set) var inFlight: Set<UInt64> = []

    init(first: UInt64 = 1) {
        next = first
        low = first
    }

    mutating func begin() -> UInt64 {
        let sequence = next
        next += 1
        inFlight.insert(sequence)
        return sequence
    }

    mutating func finish(_ sequence: UInt64) {
        guard inFlight.remove(sequence) != nil else { return }
        while low < next, !inFlight.contains(low) { low += 1 }
    }

    var acknowledgedBelow: UInt64 { low }
}

/// A ``SequenceWindow`` shared by every task of a client.
final class SequenceTracker: Sendable {
    private let window = Mutex(SequenceWindow())

    func begin() -> UInt64 { window.withLock { $0.begin() } }

    func finish(_ sequence: UInt64) { window.withLock { $0.finish(sequence) } }

    var acknowledgedBelow: UInt64 { window.withLock { $0.acknowledgedBelow } }
}
