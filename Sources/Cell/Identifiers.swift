/// A node of the cluster, as consensus sees it: a small number, mapped to a
/// member id by the node layer.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "n\(rawValue)" }
}

/// A Paxos ballot (Raft's term): at most one leader per ballot, and every
/// accepted entry carries the ballot it was accepted in, so ballots double as
/// fencing tokens.
public struct Ballot: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var number: UInt64

    public init(_ number: UInt64) { self.number = number }

    public static let zero = Ballot(0)
    public var next: Ballot { Ballot(number + 1) }
    public static func < (lhs: Ballot, rhs: Ballot) -> Bool { lhs.number < rhs.number }
    public var description: String { "b\(number)" }
}

/// A slot of the replicated log, from 1.
public typealias LogIndex = UInt64

/// A reading of one node's local clock, in nanoseconds. Clocks of different
/// nodes are not comparable: they drift, within ``CellOptions/clockDriftMaximum``.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Instant, rhs: Duration) -> Instant { Instant(nanoseconds: lhs.nanoseconds + rhs.nanosecondsValue) }
    public static func - (lhs: Instant, rhs: Instant) -> Duration { .nanoseconds(lhs.nanoseconds - rhs.nanoseconds) }
    public var description: String { "\(Double(nanoseconds) / 1e6)ms" }
}

extension Duration {
    /// The whole nanoseconds of this duration (sub-nanosecond parts dropped).
    public var nanosecondsValue: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
