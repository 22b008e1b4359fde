import Placement

/// One slot of a cell's log.
///
/// It carries a checksum from the leader that made it to every replica that
/// applies it: made once, at the leader, then checked wherever the entry is
/// decoded (from a peer or from disk) and by each replica before it accepts
/// it, so a corrupted entry is refused, never replicated.
public struct LogEntry: Hashable, Sendable {
    public enum Payload: Hashable, Sendable {
        /// Appended by a new leader to commit everything before it in its own ballot.
        case noop
        /// An application command, opaque to consensus (see ``CellCommand``).
        case command([UInt8])
        /// The cell's replicas from this entry on (changes by one replica at a time).
        case configuration([NodeID])
    }

    public var index: LogIndex
    public var ballot: Ballot
    public var payload: Payload

    /// Bytes the payload carries (for bounding messages).
    public var payloadBytes: Int {
        switch payload {
        case .noop: 0
        case .command(let bytes): bytes.count
        case .configuration(let members): members.count * 4
        }
    }

    /// XXH64 of the index, ballot and payload, as the leader made them.
    public var checksum: UInt64

    /// A new entry (at the leader), with its checksum.
    public init(index: LogIndex, ballot: Ballot, payload: Payload) {
        self.index = index
        self.ballot = ballot
        self.payload = payload
        self.checksum = Self.checksum(index: index, ballot: ballot, payload: payload)
    }

    /// An entry as received or read back, with the checksum it came with
    /// (check ``isIntact`` before trusting it).
    public init(index: LogIndex, ballot: Ballot, payload: Payload, checksum: UInt64) {
        self.index = index
        self.ballot = ballot
        self.payload = payload
        self.checksum = checksum
    }

    /// Whether the entry is still what its leader made.
    public var isIntact: Bool {
        checksum == Self.checksum(index: index, ballot: ballot, payload: payload)
    }

    static func checksum(index: LogIndex, ballot: Ballot, payload: Payload) -> UInt64 {
        var header: [UInt8] = []
        header.reserveCapacity(17)
        withUnsafeBytes(of: index.littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: ballot.number.littleEndian) { header.append(contentsOf: $0) }
        switch payload {
        case .noop:
            header.append(0)
            return XXH64.hash(header)
        case .command(let bytes):
            header.append(1)
            return bytes.withUnsafeBytes { XXH64.hash($0, seed: XXH64.hash(header)) }
        case .configuration(let members):
            header.append(2)
            for member in members { withUnsafeBytes(of: member.rawValue.littleEndian) { header.append(contentsOf: $0) } }
            return XXH64.hash(header)
        }
    }
}

/// The state a replica must persist before it acts on it: its promise (the
/// highest ballot seen) and its vote in that ballot.
public struct HardState: Hashable, Sendable {
    public var ballot: Ballot
    public var votedFor: NodeID?
    public var commitIndex: LogIndex

    public init(ballot: Ballot = .zero, votedFor: NodeID? = nil, commitIndex: LogIndex = 0) {
        self.ballot = ballot
        self.votedFor = votedFor
        self.commitIndex = commitIndex
    }
}

/// A compacted prefix of the log: the application's state after `index`.
public struct Snapshot: Hashable, Sendable {
    public var index: LogIndex
    public var ballot: Ballot
    public var configuration: [NodeID]
    public var state: [UInt8]

    public init(index: LogIndex, ballot: Ballot, configuration: [NodeID], state: [UInt8]) {
        self.index = index
        self.ballot = ballot
        self.configuration = configuration
        self.state = state
    }
}
