/// One slot of a cell's log.
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

    public init(index: LogIndex, ballot: Ballot, payload: Payload) {
        self.index = index
        self.ballot = ballot
        self.payload = payload
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
