import Cell
import Keyspace
import Storage
import Wire

/// What of one cell is on disk, so that a ready turns into the exact store
/// writes that make the disk match the replica: entries to put, stale ones to
/// delete, snapshots into the free slot.
struct CellDiskState {
    let cell: UInt64
    /// Persisted log entries are exactly `firstEntry...lastEntry` (none when nil).
    var firstEntry: LogIndex?
    var lastEntry: LogIndex?
    var snapshotSlot: UInt8 = 1
    var snapshotIndex: LogIndex = 0

    /// The cell's collections in the store, hashed once: every record key shares its collection's pointer.
    let collection: Key
    let snapshotHeaderCollection: Key
    let snapshotSlotCollections: [Key]

    init(cell: UInt64) {
        self.cell = cell
        collection = CellRecords.collection(cell)
        snapshotHeaderCollection = CellRecords.snapshotHeaderCollection(cell)
        snapshotSlotCollections = [0, 1].map { CellRecords.snapshotSlotCollection(cell, slot: $0) }
    }

    private func key(_ sortKey: [UInt8]) -> Key { try! collection.withSortKey(sortKey) }

    /// The writes that persist a ready, in the order they must become durable.
    /// A chain of store batches may stop after any of them (a crash), so every
    /// prefix must leave a log that recovery can trust: a snapshot before the
    /// entries it covers are dropped, stale entries dropped before new ones are
    /// written, and the hard state (whose commit index vouches for the entries)
    /// last. Nothing is acknowledged before the whole chain is durable.
    mutating func writes(for ready: Ready) -> [Write] {
        var writes: [Write] = []
        if let snapshot = ready.snapshot {
            writes += self.writes(for: snapshot)
            if ready.snapshotReplacesLog { writes += deleteEntries(through: lastEntry ?? 0) }
        }
        if let first = ready.entries.first, let last = ready.entries.last {
            // Entries after the new last one were replaced by a conflicting suffix.
            if let persistedLast = lastEntry, persistedLast > last.index {
                for index in (last.index + 1)...persistedLast {
                    writes.append(.delete(key(CellRecords.entryKey(index))))
                }
            }
            for entry in ready.entries {
                writes.append(.put(key(CellRecords.entryKey(entry.index)), CellRecords.encode(entry)))
            }
            if firstEntry == nil || first.index < firstEntry! { firstEntry = first.index }
            lastEntry = last.index
        }
        if let hardState = ready.hardState {
            writes.append(.put(key(CellRecords.hardStateKey), CellRecords.encode(hardState)))
        }
        return writes
    }

    /// The writes that store a snapshot and drop the entries it covers.
    mutating func writes(for snapshot: Snapshot) -> [Write] {
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
        writes += deleteEntries(through: snapshot.index)
        return writes
    }

    private mutating func deleteEntries(through index: LogIndex) -> [Write] {
        guard let first = firstEntry, let last = lastEntry, first <= index else { return [] }
        let end = min(index, last)
        let writes = (first...end).map { Write.delete(key(CellRecords.entryKey($0))) }
        if end >= last {
            firstEntry = nil
            lastEntry = nil
        } else {
            firstEntry = end + 1
        }
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
    /// Reads a cell's persisted state back from the store; nil when it has none.
    static func restore(cell: UInt64, from store: Store) async throws -> (PersistedReplicaState, CellDiskState)? {
        var disk = CellDiskState(cell: cell)
        var records = try await all(disk.collection, in: store) + all(disk.snapshotHeaderCollection, in: store)
        guard !records.isEmpty else { return nil }
        // Only the slot the header names is read: the other holds the snapshot before it.
        if let header = records.first(where: { $0.sortKey == CellRecords.snapshotHeaderKey }),
            let decoded = try? CellRecords.SnapshotHeader(decoding: header.value), decoded.slot <= 1 {
            records += try await all(disk.snapshotSlotCollections[Int(decoded.slot)], in: store)
        }

        var hardState = HardState()
        var entries: [LogEntry] = []
        var header: CellRecords.SnapshotHeader?
        var chunks: [[UInt8]: [UInt8]] = [:]
        do {
            for record in records {
                switch record.sortKey.first {
                case 1: hardState = try CellRecords.decodeHardState(record.value)
                case 2: entries.append(try CellRecords.decodeEntry(record.value))
                case 3: header = try CellRecords.SnapshotHeader(decoding: record.value)
                case 4: chunks[record.sortKey] = record.value
                default: throw WireError("unknown record \(Hex.encode(record.sortKey))")
                }
            }
        } catch {
            throw CellRecoveryError(cell: cell, reason: (error as? WireError)?.reason ?? "\(error)")
        }
        var snapshot: Snapshot?
        if let header {
            var state: [UInt8] = []
            for chunk in 0..<header.chunks {
                guard let bytes = chunks[CellRecords.chunkKey(slot: header.slot, chunk: chunk)] else {
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
        // Entries a crash left behind a newer snapshot are dead: the snapshot covers them.
        let live = entries.filter { $0.index > (snapshot?.index ?? 0) }
        if let first = live.first, first.index != (snapshot?.index ?? 0) + 1 {
            throw CellRecoveryError(cell: cell, reason: "log starts at \(first.index), after a snapshot at \(snapshot?.index ?? 0)")
        }
        for (offset, entry) in live.enumerated() where offset > 0 && entry.index != live[offset - 1].index + 1 {
            throw CellRecoveryError(cell: cell, reason: "log has a gap before entry \(entry.index)")
        }
        disk.firstEntry = entries.first?.index
        disk.lastEntry = entries.last?.index
        return (PersistedReplicaState(hardState: hardState, snapshot: snapshot, entries: live), disk)
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
