/// The configurations the search has visited: which operations are linearized
/// and the model state they led to. Two paths that reach the same configuration
/// have the same future, so the second is pruned (Lowe; Porcupine).
///
/// Unknown-outcome operations make this a subsumption test rather than an
/// equality test: they are never required, so a configuration that has
/// linearized more of them (same returned operations, same state) can do
/// nothing the one with fewer cannot (it could leave them out). Without this,
/// each unknown write that was later overwritten would double the search.
struct ConfigurationCache {
    /// Returned operations linearized, and the state reached (as a number, see `StateTable`).
    struct Key: Hashable {
        var returned: OperationSet
        var state: Int
    }

    /// The unknown-outcome sets seen with one key, none a subset of another.
    /// One set is the common case (and the only one when nothing is unknown).
    private enum UnknownSets {
        case one(OperationSet)
        case many([OperationSet])
    }

    private var seen: [Key: UnknownSets] = [:]
    /// Configurations recorded so far, the measure of the search's work.
    private(set) var count = 0

    /// Records the configuration and returns true, unless it is subsumed by one already seen.
    mutating func insert(_ key: Key, unknown: OperationSet) -> Bool {
        guard let index = seen.index(forKey: key) else {
            seen[key] = .one(unknown)
            count += 1
            return true
        }
        var sets: [OperationSet]
        switch seen.values[index] {
        case .one(let set): sets = [set]
        case .many(let many): sets = many
        }
        if sets.contains(where: { $0.isSubset(of: unknown) }) { return false }
        sets.removeAll { unknown.isSubset(of: $0) }  // subsumed by the new one from now on
        sets.append(unknown)
        seen.values[index] = sets.count == 1 ? .one(sets[0]) : .many(sets)
        count += 1
        return true
    }
}
