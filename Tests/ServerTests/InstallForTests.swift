import Cell
import CellHost
import Storage

extension PageCellState {
    /// Installs a leader's snapshot as a follower's ready loop does: the
    /// marker in the record that resets the log, then the state's writes in
    /// groups of `groupBytes`; returns once all of it is durable.
    mutating func installAsFollower(_ snapshot: Snapshot, files: MemoryInstallFiles = MemoryInstallFiles(),
                                    groupBytes: Int = PageCellState.installGroupBytes) async throws {
        let marker = InstallMarker(index: snapshot.index, ballot: snapshot.ballot, configuration: snapshot.configuration,
                                   reference: try files.retain(snapshot, cell: cell))
        try await PersistenceOrderTests.commit([installMarkerUpdate(marker)],
                                               [LogChange(log: cell, truncation: .reset(after: snapshot.index))], to: store)
        try installStaged(marker, files: files, groupBytes: groupBytes) { _ in }
        // The install's groups are lazy: a blocking record after them makes them durable.
        try await PersistenceOrderTests.commit([], [LogChange(log: cell, state: CellRecords.encode(HardState()))], to: store)
    }
}
