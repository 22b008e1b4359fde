import Cell
import Keyspace
import Storage
import Wire

/// What a shard's group commit hands the store: item writes (a snapshot
/// installed from a leader) and log changes of many cells, made durable
/// together as one WAL record.
public struct DiskGroup {
    public var updates: [ItemUpdate] = []
    public var logChanges: [LogChange] = []

    public init(updates: [ItemUpdate] = [], logChanges: [LogChange] = []) {
        self.updates = updates
        self.logChanges = logChanges
    }

    public mutating func append(_ other: DiskGroup) {
        updates += other.updates
        logChanges += other.logChanges
    }
}

/// How a cell's consensus log lives in the store: as a log of its WAL. A
/// ready becomes one log change (the truncation a snapshot from the leader
/// makes, the new entries, the hard state); a record is atomic, so the disk
/// always holds a log recovery can trust.
public enum CellLog {
    public static func change(for ready: Ready, of cell: UInt64) -> LogChange {
        var change = LogChange(log: cell)
        if let snapshot = ready.snapshot {
            change.truncation = ready.snapshotReplacesLog ? .reset(after: snapshot.index) : .compact(through: snapshot.index)
        }
        change.entries = ready.entries.map(CellRecords.stored)
        change.state = ready.hardState.map(CellRecords.encode)
        return change
    }

    /// Reads a cell back at a node's start: its log from the store's WAL, and
    /// from its page-store state only where the log starts (nothing of its
    /// data). A snapshot install a crash interrupted is finished first, from
    /// the state `installFiles` retained (its last writes are lazy: a second
    /// crash before they are durable finishes it again).
    public static func restore(cell: UInt64, log: StoredLog, state: inout PageCellState,
                               installFiles: (any InstallFiles)?) throws -> PersistedReplicaState {
        try state.load()
        if let marker = state.pendingInstall {
            // The marker went in the record that reset the log to the snapshot's index.
            guard log.base == marker.index, let installFiles else {
                throw CellRecoveryError(cell: cell, reason: "it was installing a snapshot at \(marker.index), but its log starts after \(log.base)"
                                            + (installFiles == nil ? " and no snapshot files were given" : ""))
            }
            _ = try state.installStaged(marker, files: installFiles) { _ in }
        }
        let hardState: HardState
        let entries: [LogEntry]
        do {
            hardState = try log.state.map(CellRecords.decodeHardState) ?? HardState()
            entries = try log.entries.map(CellRecords.decodeEntry)
        } catch {
            throw CellRecoveryError(cell: cell, reason: error.reason)
        }
        // Applying entries and truncating the log through them are one record,
        // as are installing a snapshot and resetting the log: the two agree.
        guard log.base == state.appliedIndex else {
            throw CellRecoveryError(cell: cell, reason: "its log starts after \(log.base), but its state is at \(state.appliedIndex)")
        }
        let base = LogBase(index: state.appliedIndex, ballot: state.appliedBallot, configuration: state.configuration)
        return PersistedReplicaState(hardState: hardState, base: base, entries: entries)
    }
}

/// Why a cell's persisted state could not be read back.
public struct CellRecoveryError: Error, CustomStringConvertible {
    public let cell: UInt64
    public let reason: String
    public var description: String { "cell \(String(cell, radix: 16)): \(reason)" }
}
