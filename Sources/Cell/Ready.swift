/// What a replica asks of its runtime after an input, in order: persist the
/// hard state, snapshot and entries (and sync them if `mustSync`), then send
/// the messages, then apply the committed entries, then call
/// ``CellReplica/advance(_:)``.
public struct Ready: Sendable {
    public var hardState: HardState?
    /// A snapshot to persist and install. Persisted entries up to its index go;
    /// entries after it stay, unless `snapshotReplacesLog` says they go too.
    public var snapshot: Snapshot?
    /// The snapshot replaced the whole log (the log did not hold its last entry).
    public var snapshotReplacesLog = false
    /// Entries to persist; they replace any persisted entries from the first one's index on.
    public var entries: [LogEntry] = []
    public var messages: [(to: NodeID, message: CellMessage)] = []
    /// Newly committed entries, in order, to apply to the state machine.
    public var committed: [LogEntry] = []

    public init() {}

    /// Whether something must be durable before the messages leave.
    public var mustSync: Bool { hardState != nil || snapshot != nil || !entries.isEmpty }
    public var isEmpty: Bool {
        hardState == nil && snapshot == nil && entries.isEmpty && messages.isEmpty && committed.isEmpty
    }
}
