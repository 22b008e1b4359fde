import Cell
import TestSupport
import Testing

/// A new cell elects a leader, and commands reach every replica in order.
@Suite(.cpuBound)
struct ElectionAndReplicationTests {
    @Test func aLeaderIsElectedCommitsItsNoopThenACommandReachesEveryReplica() throws {
        let cluster = TestCluster(size: 3, seed: 11)
        // Nobody leads at first; the election timers decide who campaigns.
        #expect(cluster.leaders.isEmpty)
        #expect(cluster.runUntilQuiet(), "a fresh cell never went quiet")

        #expect(cluster.leaders.count == 1, "leaders: \(cluster.leaders.map(\.me))")
        let leader = try #require(cluster.leader)
        #expect(leader.ballot > .zero)
        // Its first entry is a no-op of its own ballot, committed everywhere.
        let first = try #require(cluster.committed[1])
        #expect(first.payload == .noop && first.ballot == leader.ballot)
        for id in cluster.runningNodes {
            #expect(cluster[id].commitIndex == 1, "\(id) commit index \(cluster[id].commitIndex)")
            #expect(cluster[id].leader == leader.me, "\(id) follows \(String(describing: cluster[id].leader))")
            #expect(cluster[id].ballot == leader.ballot)
        }

        let command = CellCommand.put("colour", "blue", client: 7, sequence: 1)
        let proposal = cluster.propose(command.payload, at: leader.me)
        #expect(proposal == .accepted(index: 2, ballot: leader.ballot))
        #expect(cluster.runUntilQuiet())
        for id in cluster.runningNodes {
            #expect(cluster[id].commitIndex == 2)
            #expect(cluster.stateMachine(id).value("colour") == "blue", "\(id) did not apply the command")
            #expect(cluster.applied[id] == [AppliedCommand(index: 2, command: command, result: .applied(version: 2))])
        }
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")

        // Followers turn proposals away and name the leader.
        for follower in cluster.runningNodes where follower != leader.me {
            let answer = cluster.propose(CellCommand.put("colour", "red", client: 8, sequence: 1).payload, at: follower)
            #expect(answer == .notLeader(leaderHint: leader.me))
        }
        #expect(cluster.runUntilQuiet())
        #expect(cluster.stateMachine(leader.me).value("colour") == "blue")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func aHundredPipelinedProposalsCommitInProposalOrderEverywhere() throws {
        let cluster = TestCluster(size: 3, seed: 12)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())
        let leader = cluster[.n1]
        #expect(leader.role == .leader)

        // A hundred proposals, none delivered before the last is made.
        var indices: [LogIndex] = []
        for number in 1...100 {
            let result = cluster.propose(CellCommand.put("k\(number)", "v\(number)", client: 1, sequence: UInt64(number)).payload, at: .n1)
            indices.append(try #require(result.index, "proposal \(number): \(result)"))
        }
        #expect(indices == Array(2...101))
        #expect(cluster.commitIndexes() == [.n1: 1, .n2: 1, .n3: 1], "nothing may commit before any delivery")

        #expect(cluster.runUntilQuiet())
        for id in cluster.runningNodes {
            let commands = cluster.applied[id]!.map(\.command.sequence)
            #expect(commands == Array(1...100), "\(id) applied in another order")
            #expect(cluster.applied[id]!.map(\.index) == Array(2...101))
            #expect(cluster[id].commitIndex == 101)
        }
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// Batching: a burst of proposals should not cost one accept message per
    /// proposal per follower.
    @Test func aBurstOfProposalsTravelsInFarFewerAcceptsThanOnePerProposalPerFollower() throws {
        let cluster = TestCluster(size: 3, seed: 13)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())
        let mark = cluster.sent.count

        for number in 1...100 {
            cluster.propose(CellCommand.put("k\(number)", "v", client: 1, sequence: UInt64(number)).payload, at: .n1)
        }
        #expect(cluster.runUntilQuiet())
        #expect(cluster.commitIndexes() == [.n1: 101, .n2: 101, .n3: 101])

        let accepts = cluster.sent(since: mark).filter { $0.kind == .accept }
        let carryingEntries = accepts.filter { !$0.entries.isEmpty }
        let followers = 2
        // Far fewer: at most a quarter of one accept per proposal per follower.
        #expect(
            accepts.count <= 100 * followers / 4,
            "\(accepts.count) accept messages (\(carryingEntries.count) carrying entries, the largest with \(carryingEntries.map(\.entries.count).max() ?? 0)) for 100 proposals to \(followers) followers")
    }

    /// Seeds 500377 and 501526 of the simulator: a leader crashes and restarts before
    /// its peers' node layers suspect it, and the crash tore its last entry, which the
    /// followers had accepted. Its probes for a later ballot are rightly refused (its
    /// log is behind), and the followers, still following it, never campaigned: the
    /// cell stayed leaderless. They now stop following a leader that probes a later
    /// ballot, and campaign once the promise they made it runs out.
    @Test func followersOfALeaderThatRestartedUnnoticedWithoutItsLastEntryElectAnother() {
        let cluster = TestCluster(size: 3, seed: 41)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())
        #expect(cluster.propose(CellCommand.put("k", "v", client: 1, sequence: 1).payload, at: .n1).index != nil)
        _ = cluster.deliverAll { $0.from == .n1 }  // the accepts reach both followers
        cluster.drop { $0.to == .n1 }  // their answers are lost with the crash
        cluster.crash(.n1, detected: false)
        cluster.tearLastPersistedEntry(.n1)
        cluster.restart(.n1)
        cluster.run(for: .seconds(5))
        #expect(cluster.leader != nil, "no leader 5 s after the old one came back without its last entry")
        #expect(cluster.leader.map { $0.me != .n1 } ?? false, "the leader lacking an accepted entry was elected")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }
}

extension TestCluster {
    func commitIndexes() -> [NodeID: LogIndex] {
        Dictionary(uniqueKeysWithValues: runningNodes.map { ($0, self[$0].commitIndex) })
    }
}
