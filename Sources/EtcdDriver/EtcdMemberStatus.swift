/// One member's answer to Maintenance/Status: who it is and whom it follows.
public struct EtcdMemberStatus: Sendable, Hashable, CustomStringConvertible {
    /// The answering member's id (from the response header).
    public var memberID: UInt64 = 0
    /// The leader this member knows of; 0 while there is none.
    public var leaderID: UInt64 = 0
    public var version = ""
    public var databaseBytes: Int64 = 0
    public var raftIndex: UInt64 = 0
    public var raftTerm: UInt64 = 0

    public init() {}

    public var hasLeader: Bool { leaderID != 0 }
    public var isLeader: Bool { leaderID != 0 && leaderID == memberID }

    public var description: String {
        let leader = hasLeader ? String(leaderID, radix: 16) : "none"
        return "member \(String(memberID, radix: 16)) (etcd \(version)), leader \(leader), raft term \(raftTerm)"
    }
}
