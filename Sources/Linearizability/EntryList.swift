/// Call and return entries of operations in time order, as a doubly linked
/// list over arrays. Linearizing an operation lifts its entries out;
/// backtracking puts them back in reverse order ("dancing links"), so a step
/// of the search costs O(1) instead of a copy of the history.
struct EntryList {
    /// Entry 0 is the head sentinel and entry `tail` the tail sentinel.
    static let head = 0
    let tail: Int
    private(set) var next: [Int]
    private var previous: [Int]
    /// The operation of each entry, as given to `init`.
    let operation: [Int]
    let isReturn: [Bool]
    let time: [Int]
    /// For a call entry, its return entry, or -1 for an operation that never returns.
    private let returnEntry: [Int]

    /// Lists `operations` (indices into `invokedAt` and `returnedAt`); a nil
    /// `returnedAt` means the operation never returns, so it has no return entry.
    init(operations: [Int], invokedAt: [Int], returnedAt: [Int?]) {
        // At equal times calls go first, so that touching intervals overlap.
        struct Event { let time: Int; let isReturn: Bool; let operation: Int }
        var events: [Event] = []
        events.reserveCapacity(operations.count * 2)
        for operation in operations {
            events.append(Event(time: invokedAt[operation], isReturn: false, operation: operation))
            if let returned = returnedAt[operation] { events.append(Event(time: returned, isReturn: true, operation: operation)) }
        }
        events.sort { ($0.time, $0.isReturn ? 1 : 0, $0.operation) < ($1.time, $1.isReturn ? 1 : 0, $1.operation) }

        let count = events.count + 2
        tail = count - 1
        next = (0..<count).map { Swift.min($0 + 1, count - 1) }
        previous = (0..<count).map { Swift.max($0 - 1, 0) }
        var operation = Array(repeating: -1, count: count)
        var isReturn = Array(repeating: false, count: count)
        var time = Array(repeating: Int.max, count: count)
        var returnEntry = Array(repeating: -1, count: count)
        var callEntry: [Int: Int] = [:]
        for (offset, event) in events.enumerated() {
            let entry = offset + 1
            operation[entry] = event.operation
            isReturn[entry] = event.isReturn
            time[entry] = event.time
            if event.isReturn { returnEntry[callEntry[event.operation]!] = entry } else { callEntry[event.operation] = entry }
        }
        self.operation = operation
        self.isReturn = isReturn
        self.time = time
        self.returnEntry = returnEntry
    }

    var first: Int { next[Self.head] }

    /// Takes a linearized operation's call entry, and its return entry if any, out of the list.
    mutating func lift(_ call: Int) {
        unlink(call)
        if returnEntry[call] >= 0 { unlink(returnEntry[call]) }
    }

    /// Undoes the `lift` of `call`; lifts must be undone in reverse order.
    mutating func unlift(_ call: Int) {
        if returnEntry[call] >= 0 { relink(returnEntry[call]) }
        relink(call)
    }

    private mutating func unlink(_ entry: Int) {
        next[previous[entry]] = next[entry]
        previous[next[entry]] = previous[entry]
    }

    private mutating func relink(_ entry: Int) {
        next[previous[entry]] = entry
        previous[next[entry]] = entry
    }
}
