/// The call and return entries of one partition's operations in time order, as
/// a doubly linked list over arrays. Linearizing an operation lifts its entries
/// out; backtracking puts them back in reverse order ("dancing links"), so a
/// step of the search costs O(1) instead of a copy of the history.
struct EntryList {
    /// Entry 0 is the head sentinel and entry `tail` the tail sentinel.
    static let head = 0
    let tail: Int
    private(set) var next: [Int]
    private var previous: [Int]
    /// The operation (partition-local index) of each entry.
    let operation: [Int]
    let isReturn: [Bool]
    /// For a call entry, its return entry; -1 for calls of unknown-outcome
    /// operations, which never return (their response is at +infinity).
    private let returnEntry: [Int]

    /// `returnedAt[i]` is nil for operations with an unknown outcome.
    init(invokedAt: [Int], returnedAt: [Int?]) {
        // Time order; at equal times calls go first, so that touching intervals overlap.
        struct Event { let time: Int; let isReturn: Bool; let operation: Int }
        var events: [Event] = []
        events.reserveCapacity(invokedAt.count * 2)
        for (operation, time) in invokedAt.enumerated() {
            events.append(Event(time: time, isReturn: false, operation: operation))
            if let returned = returnedAt[operation] { events.append(Event(time: returned, isReturn: true, operation: operation)) }
        }
        events.sort { ($0.time, $0.isReturn ? 1 : 0, $0.operation) < ($1.time, $1.isReturn ? 1 : 0, $1.operation) }

        let count = events.count + 2
        tail = count - 1
        next = (0..<count).map { Swift.min($0 + 1, count - 1) }
        previous = (0..<count).map { Swift.max($0 - 1, 0) }
        var operation = Array(repeating: -1, count: count)
        var isReturn = Array(repeating: false, count: count)
        var returnEntry = Array(repeating: -1, count: count)
        var callEntry = Array(repeating: -1, count: invokedAt.count)
        for (offset, event) in events.enumerated() {
            let entry = offset + 1
            operation[entry] = event.operation
            isReturn[entry] = event.isReturn
            if event.isReturn { returnEntry[callEntry[event.operation]] = entry } else { callEntry[event.operation] = entry }
        }
        self.operation = operation
        self.isReturn = isReturn
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
