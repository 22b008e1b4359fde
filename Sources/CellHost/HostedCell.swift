import Cell

/// One replica a node hosts, as the ready loop sees it: the consensus
/// replica and the cell's state in the page store. A runtime subclasses it
/// with what waits on the cell there (a node's client requests and timers, a
/// simulated node's requests). Owned by one thread: no locks.
open class HostedCell {
    public let cell: UInt64
    public let replica: CellReplica
    public var stateMachine: PageCellState
    /// Readies queued for or being written by the ready loop's group commit.
    public internal(set) var readiesInFlight = 0
    /// The highest committed index a ready handed to the loop: an installed snapshot must not be below it.
    public internal(set) var committedHandedOutThrough: LogIndex = 0
    /// Payload bytes applied since the log was last compacted (the log compaction would drop).
    public internal(set) var appliedBytesSinceSnapshot = 0
    /// Leaders' snapshots whose markers and log resets wait for their sync,
    /// oldest first: each is installed when its ready completes. `written`:
    /// its record was handed to the store (its marker overwrote any earlier one).
    public internal(set) var stagedInstalls: [(marker: InstallMarker, written: Bool)] = []

    public init(cell: UInt64, replica: CellReplica, stateMachine: PageCellState) {
        self.cell = cell
        self.replica = replica
        self.stateMachine = stateMachine
    }
}
