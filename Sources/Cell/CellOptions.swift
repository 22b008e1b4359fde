/// Timing and limits of cell consensus.
public struct CellOptions: Sendable {
    /// How long a follower, after hearing from its leader, refuses to promise
    /// anyone else; the leader's lease is this, shortened by the drift bound.
    public var leaseDuration: Duration = .milliseconds(2_000)
    /// Bound on the rate difference of any clock from real time (0.01 = 1%).
    public var clockDriftMaximum = 0.01
    /// Base of the randomized wait before campaigning (one to two times this).
    public var electionTimeout: Duration = .milliseconds(300)
    /// How long the leader waits for an answer before sending again.
    public var retransmitInterval: Duration = .milliseconds(100)
    /// How long the leader waits before telling idle followers a new commit
    /// index on its own, in case the next accept can carry it for free.
    public var commitNoticeDelay: Duration = .milliseconds(5)
    /// Accepts with entries in flight to one follower at once; more entries wait
    /// for an answer and then go out together.
    public var inflightAcceptsMaximum = 4
    /// Entries per accept message.
    public var entriesPerMessageMaximum = 256
    /// Payload bytes per accept message (a single larger entry still goes alone).
    public var bytesPerMessageMaximum = 4 << 20
    /// Test-only: a known bug to plant, to show the simulator catches it.
    public var plantedBug: PlantedBug?

    public init() {}

    /// How long the leader may serve reads after sending a message that a quorum acknowledged.
    var leaderLeaseDuration: Duration {
        let nanoseconds = Double(leaseDuration.nanosecondsValue) * (1 - clockDriftMaximum) / (1 + clockDriftMaximum)
        return .nanoseconds(Int64(nanoseconds))
    }
}

/// Known bugs the simulator must catch (see the Simulator's teeth tests).
public enum PlantedBug: String, Sendable, CaseIterable, Codable {
    /// Accept entries from a leader of a lower ballot (no fencing).
    case acceptLowerBallot
    /// Serve lease reads after the lease has run out.
    case leaseReadAfterExpiry
    /// Commit an entry as soon as the leader has it, without a quorum.
    case commitWithoutQuorum
    /// Grant a second promise in the same ballot.
    case promiseTwice
}
