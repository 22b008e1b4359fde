import Cell

/// One consensus message for one cell, as it travels between two nodes.
/// `cell` is the cell's pointer prefix at the cluster's cell depth.
public struct CellEnvelope: Sendable, Equatable {
    public var cell: UInt64
    public var message: CellMessage

    public init(cell: UInt64, message: CellMessage) {
        self.cell = cell
        self.message = message
    }

    static let minimumBytes = 9

    /// About how many bytes this envelope encodes to (for cutting frames).
    public var estimatedBytes: Int {
        switch message {
        case .accept(_, _, _, let entries, _, _): 64 + entries.reduce(0) { $0 + 32 + $1.payloadBytes }
        case .installSnapshot(_, let snapshot, _): 64 + snapshot.state.count + snapshot.configuration.count * 4
        default: 48
        }
    }
    /// Entries in one accept: far above what a leader sends (see CellOptions).
    static let entriesMaximum = 1 << 16

    public static func == (lhs: CellEnvelope, rhs: CellEnvelope) -> Bool {
        lhs.cell == rhs.cell && lhs.message == rhs.message
    }

    func encode(into writer: inout WireWriter) {
        writer.append(cell)
        switch message {
        case .prepare(let ballot, let lastIndex, let lastBallot, let probe):
            writer.append(UInt8(1))
            writer.append(ballot.number)
            writer.append(lastIndex)
            writer.append(lastBallot.number)
            writer.append(probe)
        case .promise(let ballot, let granted, let probe):
            writer.append(UInt8(2))
            writer.append(ballot.number)
            writer.append(granted)
            writer.append(probe)
        case .accept(let ballot, let previousIndex, let previousBallot, let entries, let commitIndex, let sentAt):
            writer.append(UInt8(3))
            writer.append(ballot.number)
            writer.append(previousIndex)
            writer.append(previousBallot.number)
            writer.append(commitIndex)
            writer.append(sentAt.nanoseconds)
            writer.append(UInt32(entries.count))
            for entry in entries { Self.encode(entry, into: &writer) }
        case .accepted(let ballot, let success, let matchIndex, let sentAt):
            writer.append(UInt8(4))
            writer.append(ballot.number)
            writer.append(success)
            writer.append(matchIndex)
            writer.append(sentAt.nanoseconds)
        case .installSnapshot(let ballot, let snapshot, let sentAt):
            writer.append(UInt8(5))
            writer.append(ballot.number)
            writer.append(sentAt.nanoseconds)
            writer.append(snapshot.index)
            writer.append(snapshot.ballot.number)
            Self.encode(snapshot.configuration, into: &writer)
            writer.appendBlob(snapshot.state)
        }
    }

    init(from reader: inout WireReader) throws(WireError) {
        cell = try reader.read(UInt64.self, "cell")
        let kind = try reader.read(UInt8.self, "cell message kind")
        switch kind {
        case 1:
            message = .prepare(
                ballot: Ballot(try reader.read(UInt64.self, "prepare ballot")),
                lastIndex: try reader.read(UInt64.self, "prepare last index"),
                lastBallot: Ballot(try reader.read(UInt64.self, "prepare last ballot")),
                probe: try reader.readBool("prepare probe"))
        case 2:
            message = .promise(
                ballot: Ballot(try reader.read(UInt64.self, "promise ballot")),
                granted: try reader.readBool("promise granted"),
                probe: try reader.readBool("promise probe"))
        case 3:
            let ballot = Ballot(try reader.read(UInt64.self, "accept ballot"))
            let previousIndex = try reader.read(UInt64.self, "accept previous index")
            let previousBallot = Ballot(try reader.read(UInt64.self, "accept previous ballot"))
            let commitIndex = try reader.read(UInt64.self, "accept commit index")
            let sentAt = Instant(nanoseconds: try reader.read(Int64.self, "accept sent-at"))
            let count = try reader.readCount("log entries", elementBytes: 25)
            guard count <= Self.entriesMaximum else { throw WireError("accept carries \(count) entries; the limit is \(Self.entriesMaximum)") }
            var entries: [LogEntry] = []
            entries.reserveCapacity(min(count, 1024))
            for _ in 0..<count { entries.append(try Self.decodeEntry(from: &reader)) }
            message = .accept(ballot: ballot, previousIndex: previousIndex, previousBallot: previousBallot,
                              entries: entries, commitIndex: commitIndex, sentAt: sentAt)
        case 4:
            message = .accepted(
                ballot: Ballot(try reader.read(UInt64.self, "accepted ballot")),
                success: try reader.readBool("accepted success"),
                matchIndex: try reader.read(UInt64.self, "accepted match index"),
                sentAt: Instant(nanoseconds: try reader.read(Int64.self, "accepted sent-at")))
        case 5:
            let ballot = Ballot(try reader.read(UInt64.self, "snapshot message ballot"))
            let sentAt = Instant(nanoseconds: try reader.read(Int64.self, "snapshot sent-at"))
            let index = try reader.read(UInt64.self, "snapshot index")
            let snapshotBallot = Ballot(try reader.read(UInt64.self, "snapshot ballot"))
            let configuration = try Self.decodeConfiguration(from: &reader)
            let state = try reader.readBlob("snapshot state")
            message = .installSnapshot(
                ballot: ballot,
                snapshot: Snapshot(index: index, ballot: snapshotBallot, configuration: configuration, state: state),
                sentAt: sentAt)
        default:
            throw WireError("unknown cell message kind \(kind) for cell \(cell)")
        }
    }

    public static func encode(_ entry: LogEntry, into writer: inout WireWriter) {
        writer.append(entry.index)
        writer.append(entry.ballot.number)
        switch entry.payload {
        case .noop:
            writer.append(UInt8(0))
        case .command(let bytes):
            writer.append(UInt8(1))
            writer.appendBlob(bytes)
        case .configuration(let members):
            writer.append(UInt8(2))
            encode(members, into: &writer)
        }
        writer.append(entry.checksum)
    }

    public static func decodeEntry(from reader: inout WireReader) throws(WireError) -> LogEntry {
        let index = try reader.read(UInt64.self, "entry index")
        let ballot = Ballot(try reader.read(UInt64.self, "entry ballot"))
        let payload: LogEntry.Payload
        switch try reader.read(UInt8.self, "entry payload kind") {
        case 0: payload = .noop
        case 1: payload = .command(try reader.readBlob("entry command"))
        case 2: payload = .configuration(try decodeConfiguration(from: &reader))
        case let kind: throw WireError("unknown entry payload kind \(kind) at index \(index)")
        }
        let entry = LogEntry(index: index, ballot: ballot, payload: payload,
                             checksum: try reader.read(UInt64.self, "entry checksum"))
        guard entry.isIntact else {
            throw WireError("log entry \(index) (ballot \(ballot.number)) fails its checksum: it was corrupted after its leader made it")
        }
        return entry
    }

    public static func encode(_ members: [NodeID], into writer: inout WireWriter) {
        writer.append(UInt32(members.count))
        for member in members { writer.append(member.rawValue) }
    }

    public static func decodeConfiguration(from reader: inout WireReader) throws(WireError) -> [NodeID] {
        let count = try reader.readCount("configuration members", elementBytes: 4)
        var members: [NodeID] = []
        for _ in 0..<count { members.append(NodeID(try reader.read(UInt32.self, "configuration member"))) }
        return members
    }
}
