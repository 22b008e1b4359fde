import Credentials
import Keyspace
import Machine
import NIOCore
import Placement

/// Everything a node needs to start: who it is, where it listens, the cluster's
/// members and placement settings, and where its data lives.
public struct NodeConfiguration: Sendable {
    /// This node's member id (must appear in `members`).
    public var memberID: String
    /// `host:port` to listen on, for peers and clients alike.
    public var listenAddress: String
    public var members: [Member]
    public var dataDirectory: String
    /// Cells are pointer prefixes of this many bits: 2^depth cells in all.
    public var cellDepth: Int = 12
    public var replicas: Int = 3
    public var placementForm: PlacementForm = .hierarchical
    /// Event loops that own cells; a cell lives on one for its whole life.
    public var shards: Int = System.coreCount
    /// Event loops that read and write connections (peers and clients), apart
    /// from the shards so that a busy shard never delays a heartbeat.
    public var transportThreads: Int = max(1, System.coreCount / 4)
    /// How often a node tells each peer it is alive, and how long silence lasts
    /// before the peer is suspected (its cells then look for a new leader).
    public var heartbeatInterval: Duration = .milliseconds(50)
    public var suspicionTimeout: Duration = .milliseconds(500)
    /// Applied entries between two snapshots of a cell (the log before it is dropped).
    public var compactionInterval: UInt64 = 1_000
    /// Request rates each account may use on this node.
    public var accountRates = AccountRates()
    /// Bytes of decoded collections the page store keeps in memory: what of a
    /// node's RAM grows with its data.
    public var cacheBytes = Self.cacheBytesDefault
    public static let cacheBytesDefault = 256 << 20
    /// This node's certificate and the cluster CA: every link, to peers and
    /// from clients, is TLS 1.3 and a peer must present its member's
    /// certificate. Nil: plaintext (`--insecure-plaintext`), logged at every start.
    public var tls: TLSCredentials?
    /// What one program invocation may use (fuel, memory, wall clock, host calls).
    public var machineLimits = MachineLimits.defaults
    /// Threads that run invocations (a host call blocks one until the cluster
    /// answers); up to 1,024 more invocations wait, then the node answers overloaded.
    public var invocationThreads = 32
    /// Where queue extents are written (`--lnr-dir`, which may be on an HDD); nil: `lnr` in the data directory.
    public var lnrDirectory: String?
    /// Staged bytes of one queue that are gathered into one extent (1 to 32 MiB).
    public var extentTargetBytes = Self.extentTargetBytesDefault
    public static let extentTargetBytesDefault = 16 << 20

    public init(memberID: String, listenAddress: String, members: [Member], dataDirectory: String) {
        self.memberID = memberID
        self.listenAddress = listenAddress
        self.members = members
        self.dataDirectory = dataDirectory
    }
}

/// Why a node refused to start.
public enum NodeConfigurationError: Error, CustomStringConvertible {
    case unknownMember(String, known: [String])
    case badAddress(String, reason: String)
    case badDepth(Int)
    case badReplicas(Int)
    case placement(PlacementError)
    case dataDirectory(String, String)
    /// The folder was written in an on-disk format this build does not read.
    case unsupportedDataFormat(String, found: Int, supported: Int)
    /// The members file changed since the folder was written, in a way its data cannot follow.
    case membersChanged(String, String)

    public var description: String {
        switch self {
        case .unknownMember(let id, let known):
            "node id \(id.debugDescription) is not in the members file (members: \(known.joined(separator: ", ")))"
        case .badAddress(let address, let reason):
            "address \(address.debugDescription) is not usable: \(reason) (expected HOST:PORT)"
        case .badDepth(let depth):
            "cell depth \(depth) is out of range: use 0 to 20 (2^depth cells)"
        case .badReplicas(let count):
            "replica count \(count) is not supported: use 1, 3 or 5"
        case .placement(let error):
            "members file: \(error)"
        case .dataDirectory(let path, let problem):
            "data directory \(path) \(problem)"
        case .membersChanged(let path, let change):
            "the members file changed since data directory \(path) was written: \(change). A node's votes and its"
                + " cells' replica sets name members by their place in the member list it was written with, so this"
                + " node would misread them. Tessera cannot change the members of a running cluster yet: restore the"
                + " members file (the recorded members are in \(path)/node.json), or start every node of the new"
                + " cluster on an empty data directory"
        case .unsupportedDataFormat(let path, let found, let supported):
            "data directory \(path) has on-disk format \(found); this Tessera reads format \(supported) only."
                + " A node's data is replicated: stop this node, move the folder aside, and start the node on an"
                + " empty folder; it catches up from its peers (one node at a time; see the README's \"Upgrading\")"
        }
    }
}
