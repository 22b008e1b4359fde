import Cell

/// Which snapshot a transfer carries: a cell's state at one log index, as a
/// file of `bytes` bytes with CRC-32C `checksum`. Two leaders' snapshots of
/// the same index and entry ballot hold the same state, and the encoding is
/// canonical, so the identity names the bytes.
public struct SnapshotIdentity: Hashable, Sendable {
    public var cell: UInt64
    public var index: LogIndex
    public var ballot: Ballot
    public var bytes: UInt64
    public var checksum: UInt32

    public init(cell: UInt64, index: LogIndex, ballot: Ballot, bytes: UInt64, checksum: UInt32) {
        self.cell = cell
        self.index = index
        self.ballot = ballot
        self.bytes = bytes
        self.checksum = checksum
    }

    func encode(into writer: inout WireWriter) {
        writer.append(cell)
        writer.append(index)
        writer.append(ballot.number)
        writer.append(bytes)
        writer.append(checksum)
    }

    init(from reader: inout WireReader) throws(WireError) {
        cell = try reader.read(UInt64.self, "snapshot cell")
        index = try reader.read(UInt64.self, "snapshot index")
        ballot = Ballot(try reader.read(UInt64.self, "snapshot ballot"))
        bytes = try reader.read(UInt64.self, "snapshot size")
        checksum = try reader.read(UInt32.self, "snapshot checksum")
    }
}

/// A cell's snapshot travelling from its leader to a lagging replica, outside
/// the consensus messages: chunks of at most ``chunkBytesMaximum`` one way,
/// and how much arrived the other way (which paces the sender and tells it
/// where to resume after a dropped connection). The consensus message that
/// installs the snapshot is delivered on the receiving node once every byte
/// arrived and the checksum matches.
public enum SnapshotTransfer: Sendable, Equatable {
    case chunk(SnapshotChunk)
    case progress(SnapshotProgress)

    public static let chunkBytesMaximum = 1 << 20

    public var cell: UInt64 {
        switch self {
        case .chunk(let chunk): chunk.identity.cell
        case .progress(let progress): progress.identity.cell
        }
    }

    /// About how many bytes this encodes to (for the outbox and pacer bounds).
    public var estimatedBytes: Int {
        switch self {
        case .chunk(let chunk): 96 + chunk.bytes.count + chunk.configuration.count * 4
        case .progress: 64
        }
    }

    func encode(into writer: inout WireWriter) {
        switch self {
        case .chunk(let chunk):
            writer.append(UInt8(1))
            chunk.identity.encode(into: &writer)
            writer.append(chunk.leaderBallot.number)
            writer.append(chunk.sentAt.nanoseconds)
            CellEnvelope.encode(chunk.configuration, into: &writer)
            writer.append(chunk.offset)
            writer.appendBlob(chunk.bytes)
        case .progress(let progress):
            writer.append(UInt8(2))
            progress.identity.encode(into: &writer)
            writer.append(progress.receivedBytes)
        }
    }

    init(from reader: inout WireReader) throws(WireError) {
        switch try reader.read(UInt8.self, "snapshot transfer kind") {
        case 1:
            let identity = try SnapshotIdentity(from: &reader)
            let leaderBallot = Ballot(try reader.read(UInt64.self, "snapshot leader ballot"))
            let sentAt = Instant(nanoseconds: try reader.read(Int64.self, "snapshot sent-at"))
            let configuration = try CellEnvelope.decodeConfiguration(from: &reader)
            let offset = try reader.read(UInt64.self, "snapshot chunk offset")
            let bytes = try reader.readBlob("snapshot chunk", maximum: Self.chunkBytesMaximum)
            guard !bytes.isEmpty, offset <= identity.bytes, UInt64(bytes.count) <= identity.bytes - offset else {
                throw WireError("snapshot chunk of \(bytes.count) bytes at offset \(offset) lies outside its snapshot of \(identity.bytes) bytes")
            }
            self = .chunk(SnapshotChunk(identity: identity, leaderBallot: leaderBallot, sentAt: sentAt,
                                        configuration: configuration, offset: offset, bytes: bytes))
        case 2:
            let identity = try SnapshotIdentity(from: &reader)
            let received = try reader.read(UInt64.self, "snapshot bytes received")
            guard received <= identity.bytes else {
                throw WireError("snapshot progress of \(received) bytes exceeds its snapshot of \(identity.bytes) bytes")
            }
            self = .progress(SnapshotProgress(identity: identity, receivedBytes: received))
        case let kind:
            throw WireError("unknown snapshot transfer kind \(kind)")
        }
    }
}

/// Bytes `offset..<offset + bytes.count` of a snapshot, with what the receiver
/// needs to install it once complete: the sending leader's ballot, its clock
/// when sent (echoed for its lease) and the configuration at the snapshot's index.
public struct SnapshotChunk: Sendable, Equatable {
    public var identity: SnapshotIdentity
    public var leaderBallot: Ballot
    public var sentAt: Instant
    public var configuration: [NodeID]
    public var offset: UInt64
    public var bytes: [UInt8]

    public init(identity: SnapshotIdentity, leaderBallot: Ballot, sentAt: Instant, configuration: [NodeID],
                offset: UInt64, bytes: [UInt8]) {
        self.identity = identity
        self.leaderBallot = leaderBallot
        self.sentAt = sentAt
        self.configuration = configuration
        self.offset = offset
        self.bytes = bytes
    }
}

/// The receiver holds the first `receivedBytes` of the snapshot.
public struct SnapshotProgress: Sendable, Equatable {
    public var identity: SnapshotIdentity
    public var receivedBytes: UInt64

    public init(identity: SnapshotIdentity, receivedBytes: UInt64) {
        self.identity = identity
        self.receivedBytes = receivedBytes
    }
}
