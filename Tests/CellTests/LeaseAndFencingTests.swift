import Cell
import TestSupport
import Testing

/// The leader lease, ballots as fencing tokens, and promises withheld during a lease.
@Suite(.cpuBound)
struct LeaseAndFencingTests {
    @Test func theLeaderServesLeaseReadsAfterItsNoopUntilTheLeaseRunsOutAndARenewalRestoresIt() throws {
        let options = CellOptions()
        let cluster = TestCluster(size: 3, options: options, seed: 21)
        cluster.elect(.n1)
        let leader = cluster[.n1]
        // Right after its no-op committed and applied, with no further traffic.
        #expect(cluster.committed[1]?.payload == .noop)
        #expect(leader.canServeLeaseRead(now: cluster.now))
        #expect(cluster.runUntilQuiet())
        let quietAt = cluster.now
        #expect(leader.canServeLeaseRead(now: cluster.now))

        // Still valid a little before the (drift-shortened) lease ends…
        cluster.run(for: .milliseconds(1_900))
        #expect(leader.canServeLeaseRead(now: cluster.now), "lease lost early, \(cluster.now - quietAt) after the last ack")
        // …and gone once a whole lease duration has passed with no traffic.
        cluster.run(for: options.leaseDuration - .milliseconds(1_900))
        #expect(!leader.canServeLeaseRead(now: cluster.now))
        #expect(leader.role == .leader, "losing the lease is not losing leadership")

        // Asking for fresh acknowledgements is not enough by itself…
        cluster.renewLease(at: .n1)
        #expect(!leader.canServeLeaseRead(now: cluster.now))
        #expect(cluster.inFlight.filter { $0.kind == .accept }.count == 2)
        // …the acknowledgements restore it.
        cluster.deliverAll()
        #expect(leader.canServeLeaseRead(now: cluster.now))

        // A follower never serves lease reads, whatever it heard.
        for follower in [NodeID.n2, .n3] {
            #expect(!cluster[follower].canServeLeaseRead(now: cluster.now))
        }
        // After another silence, a write's acknowledgements renew the lease too; followers still cannot.
        cluster.run(for: .seconds(3))
        cluster.propose(CellCommand.put("a", "1", client: 1, sequence: 1).payload, at: .n1)
        #expect(cluster.runUntilQuiet())
        #expect(leader.canServeLeaseRead(now: cluster.now))
        for follower in [NodeID.n2, .n3] {
            #expect(!cluster[follower].canServeLeaseRead(now: cluster.now))
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func aPartitionedLeaderIsFencedOffItsProposalsNeverCommitAndItStepsDownOnHearingTheHigherBallot() throws {
        let options = CellOptions()
        let cluster = TestCluster(size: 3, options: options, seed: 22)
        cluster.elect(.n1)
        cluster.propose(CellCommand.put("x", "before", client: 1, sequence: 1).payload, at: .n1)
        #expect(cluster.runUntilQuiet())
        let oldLeader = cluster[.n1]
        let oldBallot = oldLeader.ballot
        #expect(oldLeader.canServeLeaseRead(now: cluster.now))

        // The leader is cut off and keeps taking proposals that only it holds.
        cluster.isolate(.n1)
        let lonely = CellCommand.put("x", "lost", client: 2, sequence: 1)
        let lonelyIndex = try #require(cluster.propose(lonely.payload, at: .n1).index)

        // A lease later it can no longer serve reads, though it still thinks it leads.
        cluster.run(for: options.leaseDuration)
        #expect(oldLeader.role == .leader)
        #expect(!oldLeader.canServeLeaseRead(now: cluster.now))
        let lateLonely = CellCommand.put("y", "lost too", client: 2, sequence: 2)
        #expect(cluster.propose(lateLonely.payload, at: .n1).index != nil)

        // The others elect a new leader in a higher ballot, which commits.
        cluster.run(for: .seconds(2))
        let newLeader = try #require(cluster.leaders.first { $0.me != .n1 }, "no new leader among n2, n3")
        #expect(newLeader.ballot > oldBallot)
        let fresh = CellCommand.put("x", "after", client: 3, sequence: 1)
        #expect(cluster.propose(fresh.payload, at: newLeader.me).index != nil)
        cluster.run(for: .milliseconds(50))
        #expect(oldLeader.commitIndex < lonelyIndex, "the old leader committed on its own")

        // Heal. The first thing the old leader hears is the higher ballot, in
        // answer to its own retransmission: it steps down.
        cluster.heal(.n1)
        cluster.fireTimer(.n1)
        cluster.deliverAll { $0.from == .n1 || ($0.to == .n1 && $0.kind == .accepted) }
        #expect(oldLeader.role == .follower)
        #expect(oldLeader.ballot == newLeader.ballot)
        #expect(!oldLeader.canServeLeaseRead(now: cluster.now))

        #expect(cluster.runUntilQuiet())
        // Nothing it appended alone committed anywhere, and its log was repaired.
        let lonelyPayloads: Set<LogEntry.Payload> = [lonely.payload, lateLonely.payload]
        #expect(!cluster.committed.values.contains { lonelyPayloads.contains($0.payload) })
        for id in cluster.runningNodes {
            #expect(!cluster.applied[id]!.contains { $0.command.clientID == 2 }, "\(id) applied a fenced write")
            #expect(cluster.stateMachine(id).value("x") == "after")
            #expect(cluster.stateMachine(id).value("y") == nil)
        }
        let repaired = try #require(cluster.persisted[.n1]?.entries.first { $0.index == lonelyIndex })
        #expect(repaired.ballot == newLeader.ballot && !lonelyPayloads.contains(repaired.payload))
        #expect(cluster[.n1].leader == newLeader.me)
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func aCutOffReplicaCampaignsButFollowersThatHeardTheLeaderWithholdTheirPromises() throws {
        let cluster = TestCluster(size: 3, seed: 23)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())
        let ballot = cluster[.n1].ballot

        // n3 stops hearing the leader (its own messages still get out) and
        // its node layer suspects the leader: it campaigns with an up-to-date log.
        cluster.block(from: .n1, to: .n3)
        cluster.suspectLeader(at: .n3)
        let mark = cluster.sent.count
        // The leader stays busy: renewing its lease every half second keeps n2's promise fresh.
        for _ in 0..<12 {
            cluster.renewLease(at: .n1)
            cluster.run(for: .milliseconds(500))
        }
        let campaign = cluster.sent(since: mark)
        #expect(campaign.contains { $0.kind == .probe && $0.from == .n3 }, "n3 never campaigned")
        #expect(!campaign.contains { $0.kind == .prepare }, "a probe won during the lease")
        #expect(!campaign.contains { $0.kind == .probePromise && $0.to == .n3 && Self.granted($0.message) })
        #expect(cluster[.n1].role == .leader && cluster[.n1].ballot == ballot)
        #expect(cluster[.n2].ballot == ballot && cluster[.n2].leader == .n1)
        #expect(cluster[.n3].ballot == ballot, "a probe must not raise the prober's ballot")
        #expect(cluster[.n1].canServeLeaseRead(now: cluster.now))

        // A real prepare in a higher ballot is ignored too while n2 holds its promise.
        let before = cluster.sent.count
        cluster.inject(
            .prepare(ballot: Ballot(ballot.number + 5), lastIndex: cluster[.n2].lastIndex, lastBallot: ballot, probe: false),
            from: .n3, to: .n2)
        cluster.deliverPending { $0.to == .n2 && $0.kind == .prepare }
        #expect(!cluster.sent(since: before).contains { $0.from == .n2 && $0.kind == .promise && Self.granted($0.message) })
        #expect(cluster[.n2].ballot == ballot && cluster[.n2].leader == .n1)

        // Reconnected, n3 falls back in line without disturbing anyone.
        cluster.unblock(from: .n1, to: .n3)
        #expect(cluster.runUntilQuiet())
        #expect(cluster[.n3].role == .follower && cluster[.n3].leader == .n1)
        #expect(cluster.leaders.map(\.me) == [.n1] && cluster[.n1].ballot == ballot)

        // After a lease of silence (an idle cell) n2 still follows a leader its
        // node layer believes alive, so it refuses: idle leaders are not deposed.
        cluster.run(for: cluster.options.leaseDuration + .milliseconds(10))
        let probe = CellMessage.prepare(ballot: ballot.next, lastIndex: cluster[.n2].lastIndex, lastBallot: ballot, probe: true)
        let idleMark = cluster.sent.count
        cluster.inject(probe, from: .n3, to: .n2)
        cluster.deliverPending { $0.to == .n2 }
        #expect(!cluster.sent(since: idleMark).contains { $0.from == .n2 && $0.kind == .probePromise && Self.granted($0.message) })

        // Contrast: once n2's node layer suspects the leader too, the same probe is granted.
        cluster.suspectLeader(at: .n2)
        let probeMark = cluster.sent.count
        cluster.inject(probe, from: .n3, to: .n2)
        cluster.deliverPending { $0.to == .n2 }
        #expect(cluster.sent(since: probeMark).contains { $0.from == .n2 && $0.kind == .probePromise && Self.granted($0.message) })
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// The runtime's own checks have teeth: with a known bug planted in every
    /// replica, the partitioned-leader story breaks an invariant it watches.
    @Test(arguments: [PlantedBug.commitWithoutQuorum, .leaseReadAfterExpiry])
    func theTestClusterCatchesAPlantedBugWhenALeaderIsPartitioned(bug: PlantedBug) throws {
        var options = CellOptions()
        options.plantedBug = bug
        let cluster = TestCluster(size: 3, options: options, seed: 24)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())
        cluster.isolate(.n1)
        cluster.propose(CellCommand.put("x", "alone", client: 1, sequence: 1).payload, at: .n1)
        cluster.run(for: .seconds(4))
        let newLeader = try #require(cluster.leaders.first { $0.me != .n1 })
        cluster.propose(CellCommand.put("x", "quorum", client: 2, sequence: 1).payload, at: newLeader.me)
        cluster.run(for: .milliseconds(100))
        #expect(!cluster.violations.isEmpty, "\(bug) went unnoticed")
    }

    static func granted(_ message: CellMessage) -> Bool {
        if case .promise(_, let granted, _) = message { return granted }
        return false
    }
}
