import Cell
import Keyspace
import Storage
import Wire

/// Where and how a cell's consensus state lives in the node's store, so that
/// all cells share the WAL and its group commit.
///
/// Four collections per cell, because the store reads and rewrites a whole
/// collection to change one item of it: the log (`01` hard state,
/// `02 ‖ index(BE64)` entries), the snapshot header (`03`), and one per
/// snapshot slot (`04 ‖ slot ‖ chunk(BE32)` bytes). An election's ballot or a
/// new entry then costs the log's size, not the cell's data (with one
/// collection, a restart of 1 GB per node re-read every snapshot for every
/// vote). Snapshots alternate between the two slots and the header is
/// written last, so a crash while writing one leaves the previous one whole.
enum CellRecords {
    static let hardStateKey: [UInt8] = [1]
    static let entryPrefix: UInt8 = 2
    static let snapshotHeaderKey: [UInt8] = [3]
    static let snapshotChunkPrefix: UInt8 = 4
    /// Snapshot bytes per stored item (the store takes values up to 400 KiB).
    static let snapshotChunkBytes = 256 << 10

    /// The hard state and the log entries.
    static func collection(_ cell: UInt64) -> Key {
        try! Key(account: "tessera", resource: "cells", type: .rnd, primaryKey: Array(String(cell, radix: 16).utf8))
    }

    /// The snapshot header: which slot holds the latest snapshot.
    static func snapshotHeaderCollection(_ cell: UInt64) -> Key {
        try! Key(account: "tessera", resource: "cell-snapshots", type: .rnd, primaryKey: Array(String(cell, radix: 16).utf8))
    }

    /// The bytes of the snapshot in `slot`.
    static func snapshotSlotCollection(_ cell: UInt64, slot: UInt8) -> Key {
        try! Key(account: "tessera", resource: "cell-snapshots", type: .rnd,
                 primaryKey: Array("\(String(cell, radix: 16))-\(slot)".utf8))
    }

    static func entryKey(_ index: LogIndex) -> [UInt8] {
        var bytes: [UInt8] = [entryPrefix]
        withUnsafeBytes(of: index.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func chunkKey(slot: UInt8, chunk: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [snapshotChunkPrefix, slot]
        withUnsafeBytes(of: chunk.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func encode(_ hardState: HardState) -> [UInt8] {
        var writer = WireWriter()
        writer.append(hardState.ballot.number)
        writer.appendOptional(hardState.votedFor?.rawValue)
        writer.append(hardState.commitIndex)
        return writer.bytes
    }

    static func decodeHardState(_ bytes: [UInt8]) throws(WireError) -> HardState {
        var reader = WireReader(bytes)
        let state = HardState(
            ballot: Ballot(try reader.read(UInt64.self, "ballot")),
            votedFor: try reader.readOptional(UInt32.self, "vote").map(NodeID.init),
            commitIndex: try reader.read(UInt64.self, "commit index"))
        try reader.expectEnd("hard state")
        return state
    }

    static func encode(_ entry: LogEntry) -> [UInt8] {
        var writer = WireWriter()
        CellEnvelope.encode(entry, into: &writer)
        return writer.bytes
    }

    static func decodeEntry(_ bytes: [UInt8]) throws(WireError) -> LogEntry {
        var reader = WireReader(bytes)
        let entry = try CellEnvelope.decodeEntry(from: &reader)
        try reader.expectEnd("log entry")
        return entry
    }

    struct SnapshotHeader {
        var index: LogIndex
        var ballot: Ballot
        var configuration: [NodeID]
        var slot: UInt8
        var chunks: UInt32
        var byteCount: UInt64

        func encoded() -> [UInt8] {
            var writer = WireWriter()
            writer.append(index)
            writer.append(ballot.number)
            CellEnvelope.encode(configuration, into: &writer)
            writer.append(slot)
            writer.append(chunks)
            writer.append(byteCount)
            return writer.bytes
        }

        init(index: LogIndex, ballot: Ballot, configuration: [NodeID], slot: UInt8, chunks: UInt32, byteCount: UInt64) {
            self.index = index
            self.ballot = ballot
            self.configuration = configuration
            self.slot = slot
            self.chunks = chunks
            self.byteCount = byteCount
        }

        init(decoding bytes: [UInt8]) throws(WireError) {
            var reader = WireReader(bytes)
            index = try reader.read(UInt64.self, "snapshot index")
            ballot = Ballot(try reader.read(UInt64.self, "snapshot ballot"))
            configuration = try CellEnvelope.decodeConfiguration(from: &reader)
            slot = try reader.read(UInt8.self, "snapshot slot")
            chunks = try reader.read(UInt32.self, "snapshot chunk count")
            byteCount = try reader.read(UInt64.self, "snapshot size")
            try reader.expectEnd("snapshot header")
        }
    }
}
