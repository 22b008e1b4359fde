import Cell
import Keyspace
import Storage
import Wire

/// How a cell's consensus state is encoded in the node's store.
///
/// The log and the hard state are a log of the store's WAL (see
/// ``CellDiskState``). Snapshots are items in two collections per cell,
/// because the store reads and rewrites a whole collection to change one item
/// of it: the header (`03`) and the bytes, one collection per slot
/// (`04 ‖ slot ‖ chunk(BE32)`). Snapshots alternate between the two slots.
enum CellRecords {
    static let snapshotHeaderKey: [UInt8] = [3]
    static let snapshotChunkPrefix: UInt8 = 4
    /// Snapshot bytes per stored item (the store takes values up to 400 KiB).
    static let snapshotChunkBytes = 256 << 10

    /// The snapshot header: which slot holds the latest snapshot.
    static func snapshotHeaderCollection(_ cell: UInt64) -> Key {
        try! Key(account: "tessera", resource: "cell-snapshots", type: .rnd, primaryKey: Array(String(cell, radix: 16).utf8))
    }

    /// The bytes of the snapshot in `slot`.
    static func snapshotSlotCollection(_ cell: UInt64, slot: UInt8) -> Key {
        try! Key(account: "tessera", resource: "cell-snapshots", type: .rnd,
                 primaryKey: Array("\(String(cell, radix: 16))-\(slot)".utf8))
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

    /// An entry as the store keeps it: the command's bytes are the body, shared
    /// with the entry in memory rather than copied; the rest is the header:
    /// `u64 ballot | u64 checksum | u8 kind (0 noop, 1 command, 2 configuration) | [configuration]`.
    static func stored(_ entry: LogEntry) -> StoredLogEntry {
        var writer = WireWriter()
        writer.append(entry.ballot.number)
        writer.append(entry.checksum)
        var body: [UInt8] = []
        switch entry.payload {
        case .noop: writer.append(UInt8(0))
        case .command(let bytes):
            writer.append(UInt8(1))
            body = bytes
        case .configuration(let members):
            writer.append(UInt8(2))
            CellEnvelope.encode(members, into: &writer)
        }
        return StoredLogEntry(index: entry.index, header: writer.bytes, body: body)
    }

    /// The entry back from the store, checked against the checksum its leader made.
    static func decodeEntry(_ stored: StoredLogEntry) throws(WireError) -> LogEntry {
        var reader = WireReader(stored.header)
        let ballot = Ballot(try reader.read(UInt64.self, "entry ballot"))
        let checksum = try reader.read(UInt64.self, "entry checksum")
        let payload: LogEntry.Payload
        switch try reader.read(UInt8.self, "entry payload kind") {
        case 0: payload = .noop
        case 1: payload = .command(stored.body)
        case 2: payload = .configuration(try CellEnvelope.decodeConfiguration(from: &reader))
        case let kind: throw WireError("unknown entry payload kind \(kind) at index \(stored.index)")
        }
        try reader.expectEnd("log entry \(stored.index)")
        let entry = LogEntry(index: stored.index, ballot: ballot, payload: payload, checksum: checksum)
        guard entry.isIntact else {
            throw WireError("log entry \(stored.index) (ballot \(ballot.number)) fails its checksum: it changed on disk")
        }
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
