/// A replica's log: a compacted prefix (the snapshot) and the entries after it.
struct ReplicaLog {
    private(set) var snapshotIndex: LogIndex = 0
    private(set) var snapshotBallot: Ballot = .zero
    private(set) var entries: [LogEntry] = []
    /// Entries up to here are persisted (reported through ``CellReplica/advance(_:)``).
    var stableIndex: LogIndex = 0
    /// Lowest index changed since the last ready (to hand to the runtime), if any.
    var unstableFrom: LogIndex?

    var firstIndex: LogIndex { snapshotIndex + 1 }
    var lastIndex: LogIndex { snapshotIndex + LogIndex(entries.count) }
    var lastBallot: Ballot { entries.last?.ballot ?? snapshotBallot }

    /// The ballot of the entry at `index`; `nil` if beyond the log or compacted away.
    func ballot(at index: LogIndex) -> Ballot? {
        if index == snapshotIndex { return snapshotBallot }
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[Int(index - snapshotIndex - 1)].ballot
    }

    func entry(at index: LogIndex) -> LogEntry? {
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[Int(index - snapshotIndex - 1)]
    }

    func entries(from index: LogIndex, maximumCount: Int) -> [LogEntry] {
        guard index > snapshotIndex, index <= lastIndex else { return [] }
        let start = Int(index - snapshotIndex - 1)
        return Array(entries[start..<(start + min(entries.count - start, maximumCount))])
    }

    mutating func append(_ entry: LogEntry) {
        precondition(entry.index == lastIndex + 1, "log append out of order")
        entries.append(entry)
        markUnstable(from: entry.index)
    }

    /// Appends a leader's entries after a matching prefix, cutting off any
    /// conflicting suffix (entries of an older ballot that never committed).
    /// Returns whether a suffix was cut off.
    @discardableResult
    mutating func merge(_ incoming: [LogEntry]) -> Bool {
        var truncated = false
        for entry in incoming where entry.index > snapshotIndex {
            if let existing = ballot(at: entry.index) {
                if existing == entry.ballot { continue }
                entries.removeSubrange(Int(entry.index - snapshotIndex - 1)...)
                stableIndex = min(stableIndex, entry.index - 1)
                truncated = true
            }
            append(entry)
        }
        return truncated
    }

    /// Drops entries up to `index`, which a snapshot now covers.
    mutating func compact(through index: LogIndex, ballot: Ballot) {
        guard index > snapshotIndex else { return }
        if index >= lastIndex {
            entries = []
        } else {
            entries.removeSubrange(0..<Int(index - snapshotIndex))
        }
        snapshotIndex = index
        snapshotBallot = ballot
        stableIndex = max(stableIndex, index)
    }

    /// Replaces everything with a snapshot from the leader.
    mutating func reset(to snapshot: Snapshot) {
        entries = []
        snapshotIndex = snapshot.index
        snapshotBallot = snapshot.ballot
        stableIndex = snapshot.index
        unstableFrom = nil
    }

    /// Restores a persisted log after a restart.
    mutating func restore(snapshotIndex: LogIndex, snapshotBallot: Ballot, entries: [LogEntry]) {
        self.snapshotIndex = snapshotIndex
        self.snapshotBallot = snapshotBallot
        self.entries = entries
        stableIndex = lastIndex
        unstableFrom = nil
    }

    private mutating func markUnstable(from index: LogIndex) {
        unstableFrom = min(unstableFrom ?? index, index)
    }

    mutating func takeUnstable() -> [LogEntry] {
        guard let from = unstableFrom else { return [] }
        unstableFrom = nil
        return entries(from: max(from, firstIndex), maximumCount: Int.max)
    }
}
