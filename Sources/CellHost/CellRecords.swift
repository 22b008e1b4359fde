import Cell
import Keyspace
import Storage
import Wire

/// How a cell's consensus state is encoded in the node's store: its hard
/// state and entries as a log of the store's WAL (see ``CellLog``).
public enum CellRecords {
    public static func encode(_ hardState: HardState) -> [UInt8] {
        var writer = WireWriter()
        writer.append(hardState.ballot.number)
        writer.appendOptional(hardState.votedFor?.rawValue)
        writer.append(hardState.commitIndex)
        return writer.bytes
    }

    public static func decodeHardState(_ bytes: [UInt8]) throws(WireError) -> HardState {
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
    public static func stored(_ entry: LogEntry) -> StoredLogEntry {
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
    public static func decodeEntry(_ stored: StoredLogEntry) throws(WireError) -> LogEntry {
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
}
