import Cell
import Keyspace
import Storage
import Wire

/// What a shard's group commit hands the store: item writes (snapshots) and
/// log changes of many cells, made durable together as one WAL record.
struct DiskGroup {
    var writes: [Write] = []
    var logChanges: [LogChange] = []

    var isEmpty: Bool { writes.isEmpty && logChanges.isEmpty }

    mutating func append(_ other: DiskGroup) {
        writes += other.writes
        logChanges += other.logChanges
    }
}

/// Where one cell's state goes in the node's store: its consensus log (entries,
/// truncation and hard state) is a log of the store's WAL, and its snapshots
/// are items, written with the log truncation they allow in the same record.
/// A record is atomic, so the disk always holds a log recovery can trust.
struct CellDiskState {
    let cell: UInt64
    var snapshotSlot: UInt8 = 1
    var snapshotIndex: LogIndex = 0

    /// The snapshot collections in the store, hashed once: every record key shares its collection's pointer.
    let snapshotHeaderCollection: Key
    let snapshotSlotCollections: [Key]

    init(cell: UInt64) {
        self.cell = cell
        snapshotHeaderCollection = CellRecords.snapshotHeaderCollection(cell)
        snapshotSlotCollections = [0, 1].map { CellRecords.snapshotSlotCollection(cell, slot: $0) }
    }

    /// What persists a ready: its snapshot, then one change to the cell's log
    /// (the truncation the snapshot allows, the new entries, the hard state).
    mutating func group(for ready: Ready) -> DiskGroup {
        var group = DiskGroup()
        var change = LogChange(log: cell)
        if let snapshot = ready.snapshot {
            group.writes = writes(for: snapshot)
            change.truncation = ready.snapshotReplacesLog ? .reset(after: snapshot.index) : .compact(through: snapshot.index)
        }
        change.entries = ready.entries.map(CellRecords.stored)
        change.state = ready.hardState.map(CellRecords.encode)
        group.logChanges = [change]
        return group
    }

    /// What stores a snapshot taken here and drops the entries it covers.
    mutating func group(for snapshot: Snapshot) -> DiskGroup {
        DiskGroup(writes: writes(for: snapshot), logChanges: [LogChange(log: cell, truncation: .compact(through: snapshot.index))])
    }

    /// The snapshot's bytes in chunks into the slot not in use, then the header
    /// naming that slot. Reading the header back tells which slot is whole.
    private mutating func writes(for snapshot: Snapshot) -> [Write] {
        let slot: UInt8 = snapshotSlot == 0 ? 1 : 0
        var writes: [Write] = []
        var chunk: UInt32 = 0
        var offset = 0
        repeat {
            let end = min(offset + CellRecords.snapshotChunkBytes, snapshot.state.count)
            writes.append(.put(try! snapshotSlotCollections[Int(slot)].withSortKey(CellRecords.chunkKey(slot: slot, chunk: chunk)),
                               Array(snapshot.state[offset..<end])))
            chunk += 1
            offset = end
        } while offset < snapshot.state.count
        let header = CellRecords.SnapshotHeader(
            index: snapshot.index, ballot: snapshot.ballot, configuration: snapshot.configuration,
            slot: slot, chunks: chunk, byteCount: UInt64(snapshot.state.count))
        writes.append(.put(try! snapshotHeaderCollection.withSortKey(CellRecords.snapshotHeaderKey), header.encoded()))
        snapshotSlot = slot
        snapshotIndex = snapshot.index
        return writes
    }
}

/// Why a cell's persisted state could not be read back.
struct CellRecoveryError: Error, CustomStringConvertible {
    let cell: UInt64
    let reason: String
    var description: String { "cell \(String(cell, radix: 16)): \(reason)" }
}

extension CellDiskState {
    /// Reads a cell's persisted state back: its log from the store's WAL, its
    /// latest snapshot from the store's items.
    static func restore(cell: UInt64, log: StoredLog, from store: Store) async throws -> (PersistedReplicaState, CellDiskState) {
        var disk = CellDiskState(cell: cell)
        var snapshot: Snapshot?
        let headerKey = try! disk.snapshotHeaderCollection.withSortKey(CellRecords.snapshotHeaderKey)
        if let item = try await store.get(headerKey) {
            let header: CellRecords.SnapshotHeader
            do {
                header = try CellRecords.SnapshotHeader(decoding: item.value)
            } catch {
                throw CellRecoveryError(cell: cell, reason: error.reason)
            }
            guard header.slot <= 1 else { throw CellRecoveryError(cell: cell, reason: "snapshot slot \(header.slot) is neither 0 nor 1") }
            let chunks = try await all(disk.snapshotSlotCollections[Int(header.slot)], in: store)
            var state: [UInt8] = []
            state.reserveCapacity(Int(header.byteCount))
            for chunk in 0..<header.chunks {
                let key = CellRecords.chunkKey(slot: header.slot, chunk: chunk)
                guard let bytes = chunks.first(where: { $0.sortKey == key })?.value else {
                    throw CellRecoveryError(cell: cell, reason: "snapshot chunk \(chunk) of slot \(header.slot) is missing")
                }
                state += bytes
            }
            guard state.count == header.byteCount else {
                throw CellRecoveryError(cell: cell, reason: "snapshot is \(state.count) bytes, its header says \(header.byteCount)")
            }
            snapshot = Snapshot(index: header.index, ballot: header.ballot, configuration: header.configuration, state: state)
            disk.snapshotSlot = header.slot
            disk.snapshotIndex = header.index
        }
        let hardState: HardState
        let entries: [LogEntry]
        do {
            hardState = try log.state.map(CellRecords.decodeHardState) ?? HardState()
            entries = try log.entries.map(CellRecords.decodeEntry)
        } catch {
            throw CellRecoveryError(cell: cell, reason: error.reason)
        }
        // A snapshot and the truncation it allows are written in one record, so
        // the log starts right after the snapshot (or after a snapshot a leader sent).
        let snapshotIndex = snapshot?.index ?? 0
        guard log.base == snapshotIndex else {
            throw CellRecoveryError(cell: cell, reason: "log starts after \(log.base), but the snapshot is at \(snapshotIndex)")
        }
        return (PersistedReplicaState(hardState: hardState, snapshot: snapshot, entries: entries), disk)
    }

    private static func all(_ collection: Key, in store: Store) async throws -> [Item] {
        var records: [Item] = []
        var continuation: ContinuationToken?
        repeat {
            let page = try await store.query(collection, QueryRange(limit: QueryRange.limitMaximum, continuation: continuation))
            records += page.items
            continuation = page.continuation
        } while continuation != nil
        return records
    }
}
