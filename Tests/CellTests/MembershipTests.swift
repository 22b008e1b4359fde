import Cell
import TestSupport
import Testing

/// Membership changes through the cell's own log, one replica at a time.
@Suite(.cpuBound)
struct MembershipTests {
    @Test func aFourthReplicaJoinsCatchesUpAndCountsInTheQuorumThenAnOriginalReplicaIsRemoved() throws {
        let cluster = TestCluster(size: 3, seed: 41)
        cluster.elect(.n1)
        for number in 1...5 {
            cluster.propose(CellCommand.put("k\(number)", "v", client: 1, sequence: UInt64(number)).payload, at: .n1)
        }
        #expect(cluster.runUntilQuiet())

        // n4 starts empty, already knowing the configuration it is joining.
        let joined: [NodeID] = [.n1, .n2, .n3, .n4]
        cluster.addReplica(.n4, configuration: joined)
        let change = cluster.propose(.configuration(joined), at: .n1)
        let changeIndex = try #require(change.index, "\(change)")
        #expect(cluster[.n1].configuration == joined, "the leader uses a configuration as soon as it appends it")
        #expect(cluster.runUntilQuiet())
        #expect(cluster.committed[changeIndex]?.payload == .configuration(joined))
        #expect(cluster[.n4].commitIndex == changeIndex && cluster[.n4].leader == .n1)
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")
        #expect(cluster.stateMachine(.n4).value("k5") == "v")

        // Four replicas need three: with n3 cut off, nothing commits without n4's acknowledgement.
        cluster.isolate(.n3)
        cluster.block(from: .n4, to: .n1)
        let needsN4 = try #require(cluster.propose(CellCommand.put("quorum", "of three", client: 2, sequence: 1).payload, at: .n1).index)
        cluster.run(for: .milliseconds(300))
        #expect(cluster[.n1].commitIndex < needsN4, "committed with two of four")
        cluster.unblock(from: .n4, to: .n1)
        cluster.run(for: .milliseconds(300))
        #expect(cluster[.n1].commitIndex >= needsN4, "n4's acknowledgement did not count")

        // Remove an original replica (n3, still cut off): three members, two make a quorum.
        let shrunk: [NodeID] = [.n1, .n2, .n4]
        let removal = try #require(cluster.propose(.configuration(shrunk), at: .n1).index)
        cluster.run(for: .milliseconds(300))
        #expect(cluster[.n1].commitIndex >= removal)
        #expect(cluster[.n1].configuration == shrunk)
        cluster.crash(.n3, detected: false)  // decommissioned
        cluster.block(from: .n2, to: .n1)
        let withoutN2 = try #require(cluster.propose(CellCommand.put("after", "removal", client: 2, sequence: 2).payload, at: .n1).index)
        cluster.run(for: .milliseconds(300))
        #expect(cluster[.n1].commitIndex >= withoutN2, "n1 and n4 are a quorum of the new configuration")
        cluster.healAll()
        #expect(cluster.runUntilQuiet())
        #expect(cluster.stateMachineDisagreement(among: shrunk) == nil, "\(cluster.stateMachineDisagreement(among: shrunk) ?? "")")
        #expect(cluster.stateMachine(.n4).value("after") == "removal")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func changesGoOneAtATimeASecondChangeIsBusyAndChangingTwoReplicasIsRejected() throws {
        let cluster = TestCluster(size: 3, seed: 42)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())

        let twoAtOnce = cluster.propose(.configuration([.n1, .n2, .n3, .n4, .n5]), at: .n1)
        guard case .rejected = twoAtOnce else { Issue.record("adding two replicas: \(twoAtOnce)"); return }
        let swap = cluster.propose(.configuration([.n1, .n2, .n4]), at: .n1)
        guard case .rejected = swap else { Issue.record("replacing one replica by another: \(swap)"); return }
        #expect(cluster[.n1].lastIndex == 1, "a rejected change must not reach the log")

        cluster.addReplica(.n4, configuration: [.n1, .n2, .n3, .n4])
        let first = cluster.propose(.configuration([.n1, .n2, .n3, .n4]), at: .n1)
        #expect(first.index != nil)
        // Until the first change commits, any other change waits.
        #expect(cluster.propose(.configuration([.n1, .n2, .n4]), at: .n1) == .busy)
        #expect(cluster.propose(.configuration([.n1, .n2, .n3]), at: .n1) == .busy)
        // Commands are not held up.
        #expect(cluster.propose(CellCommand.put("a", "1", client: 1, sequence: 1).payload, at: .n1).index != nil)
        #expect(cluster.runUntilQuiet())
        // Once it committed, the next change goes through.
        #expect(cluster.propose(.configuration([.n1, .n2, .n4]), at: .n1).index != nil)
        // A follower answers any change with the leader's name.
        #expect(cluster.propose(.configuration([.n1, .n2]), at: .n2) == .notLeader(leaderHint: .n1))
        #expect(cluster.runUntilQuiet())
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func aLeaderThatRemovesItselfStepsDownOnceTheChangeCommitsAndAnotherMemberLeads() throws {
        let cluster = TestCluster(size: 3, seed: 43)
        cluster.elect(.n1)
        cluster.addReplica(.n4, configuration: [.n1, .n2, .n3, .n4])
        #expect(cluster.propose(.configuration([.n1, .n2, .n3, .n4]), at: .n1).index != nil)
        #expect(cluster.runUntilQuiet())

        let remaining: [NodeID] = [.n2, .n3, .n4]
        let removal = try #require(cluster.propose(.configuration(remaining), at: .n1).index)
        // It keeps leading until the change commits (in the new configuration, without itself)…
        #expect(cluster[.n1].role == .leader)
        cluster.deliverAll { $0.kind == .accept }
        #expect(cluster[.n1].role == .leader, "stepped down before its removal committed")
        cluster.deliverAll()
        // …then steps down.
        #expect(cluster[.n1].commitIndex >= removal)
        #expect(cluster[.n1].role == .follower)

        // Someone of the remaining three must take over, with no failure
        // detector involved: n1's node is alive and well.
        cluster.run(for: .seconds(5))
        let successor = cluster.leaders.first { remaining.contains($0.me) }
        #expect(successor != nil, "no member campaigned after the leader removed itself (roles: \(cluster.roles()))")
        if successor == nil {
            // Let the node layers nudge them, to check what follows.
            for id in remaining { cluster.suspectLeader(at: id) }
            cluster.run(for: .seconds(5))
        }
        let leader = try #require(cluster.leaders.first { remaining.contains($0.me) }, "no leader among \(remaining)")
        #expect(leader.configuration == remaining, "\(leader.me) leads with configuration \(leader.configuration)")
        let command = CellCommand.put("after", "handover", client: 3, sequence: 1)
        #expect(cluster.propose(command.payload, at: leader.me).index != nil)
        cluster.run(for: .seconds(1))
        for id in remaining {
            #expect(cluster.stateMachine(id).value("after") == "handover", "\(id) did not apply the new leader's write")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// Followers must count by the configuration they hold in their log (as
    /// the leader does from the moment it appends a change); otherwise a
    /// replica that was removed can still help elect a leader of the old
    /// configuration, and that leader can overwrite a commit of the new one.
    @Test func followersUseAConfigurationFromTheLogSoARemovedReplicaCannotHelpOverwriteACommit() throws {
        let cluster = TestCluster(size: 3, seed: 44)
        cluster.elect(.n1)
        cluster.addReplica(.n4, configuration: [.n1, .n2, .n3, .n4])
        #expect(cluster.propose(.configuration([.n1, .n2, .n3, .n4]), at: .n1).index != nil)
        #expect(cluster.runUntilQuiet())
        let shrunk: [NodeID] = [.n1, .n2, .n4]
        #expect(cluster.propose(.configuration(shrunk), at: .n1).index != nil)
        #expect(cluster.runUntilQuiet())
        for id in [NodeID.n2, .n4] {
            #expect(cluster[id].configuration == shrunk, "\(id) committed the change but counts by \(cluster[id].configuration)")
        }

        // n2 is cut off; n1 and n4 (a quorum of {n1, n2, n4}) commit a write.
        cluster.isolate(.n2)
        let write = CellCommand.put("precious", "yes", client: 1, sequence: 1)
        let index = try #require(cluster.propose(write.payload, at: .n1).index)
        cluster.run(for: .milliseconds(100))
        #expect(cluster.committed[index]?.payload == write.payload)

        // n1 crashes and n4 is cut off. Of the current members only n2 is
        // left: no leader may be elected, least of all with n3's help.
        cluster.crash(.n1)
        cluster.isolate(.n4)
        cluster.heal(.n2)
        cluster.run(for: .seconds(5))
        #expect(!cluster.leaders.contains { $0.me == .n2 }, "n2 was elected by \(cluster[.n2].configuration) while the configuration is \(shrunk)")
        #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(3))")
    }
}

extension TestCluster {
    func roles() -> String {
        runningNodes.map { "\($0): \(self[$0].role.rawValue) in \(self[$0].ballot)" }.joined(separator: ", ")
    }
}
