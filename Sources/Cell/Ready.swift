/// What a replica asks of its runtime after an input, in order: send the
/// early messages (at once), persist the hard state, snapshot and entries (and
/// sync them if `mustSync`), then send the messages, then apply the committed
/// entries, then call ``CellReplica/advance(_:now:)``.
public struct Ready: Sendable {
    public var hardState: HardState?
    /// A snapshot to persist and install. Persisted entries up to its index go;
    /// entries after it stay, unless `snapshotReplacesLog` says they go too.
    public var snapshot: Snapshot?
    /// The snapshot replaced the whole log (the log did not hold its last entry).
    public var snapshotReplacesLog = false
    /// Entries to persist; they replace any persisted entries from the first one's index on.
    public var entries: [LogEntry] = []
    /// The ballot or vote in `hardState` changed: it must be durable before `messages`
    /// leave. A change of the commit index alone may be written lazily (it is
    /// recomputed after a crash).
    public var hardStateMustSync = false
    /// Messages to send once what this ready persists is durable (promises, acknowledgements).
    public var messages: [(to: NodeID, message: CellMessage)] = []
    /// A leader's accepts and snapshots: they may leave at once, before the
    /// persisting completes, since the leader counts its own entries toward a
    /// quorum only after ``CellReplica/advance(_:now:)``.
    public var earlyMessages: [(to: NodeID, message: CellMessage)] = []
    /// Newly committed entries, in order, to apply to the state machine.
    public var committed: [LogEntry] = []
    /// A follower needs a snapshot: once this ready's entries are applied, call
    /// ``CellReplica/provideSnapshot(state:now:)`` with the state machine's state.
    public var snapshotWanted = false

    public init() {}

    /// Whether something must be durable before the messages leave.
    public var mustSync: Bool { hardStateMustSync || snapshot != nil || !entries.isEmpty }
    public var isEmpty: Bool {
        hardState == nil && snapshot == nil && entries.isEmpty && messages.isEmpty && earlyMessages.isEmpty
            && committed.isEmpty && !snapshotWanted
    }
}

extension CellReplica {
    /// The ready loop of a runtime whose disk is memory (the schedule
    /// explorer, the cell tests, the idle-cell benchmark): every ready, in the
    /// order above, with persisting done at once, until the replica has none.
    /// A node persists to its write-ahead log and waits for the sync instead:
    /// that loop is `ReadyLoop`, in the `CellHost` target, shared by the
    /// server and the simulator. Returns false if the replica still had a
    /// ready after `roundsMaximum` (a replica that never settles is a bug).
    @discardableResult
    public func drainReadies(
        now: Instant, roundsMaximum: Int = 10_000,
        send: (_ to: NodeID, _ message: CellMessage) -> Void,
        persist: (Ready) -> Void,
        apply: (Ready) -> Void
    ) -> Bool {
        for _ in 0..<roundsMaximum {
            let ready = takeReady()
            if ready.isEmpty { return true }
            for (to, message) in ready.earlyMessages { send(to, message) }
            persist(ready)
            for (to, message) in ready.messages { send(to, message) }
            apply(ready)
            advance(ready, now: now)
        }
        return false
    }
}
