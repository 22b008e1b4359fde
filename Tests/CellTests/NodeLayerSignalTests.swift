import Cell
import TestSupport
import Testing

/// What a replica does with the node layer's signals and with damaged or
/// unanswered messages: a leader cut off from its quorum steps down once its
/// lease ends, retransmits back off, and a corrupted entry goes no further.
@Suite(.cpuBound)
struct NodeLayerSignalTests {
    @Test func aLeaderWhoseNodeSuspectsItsQuorumStepsDownOnceItsLeaseEnds() throws {
        let options = CellOptions()
        let cluster = TestCluster(size: 3, options: options, seed: 5)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())
        let leader = cluster[.n1]
        #expect(leader.reachesQuorum)

        // One follower's node suspected: the other still makes a quorum.
        cluster.isolate(.n3)
        leader.peerUnreachable(.n3)
        #expect(leader.reachesQuorum)
        cluster.run(for: options.leaseDuration * 2)
        #expect(leader.role == .leader, "a leader with a quorum left keeps leading")

        // Both suspected: it keeps its lease while it lasts, then steps down.
        cluster.isolate(.n2)
        leader.peerUnreachable(.n2)
        #expect(!leader.reachesQuorum)
        #expect(leader.nextDeadline != nil, "a cut-off leader must be ticked when its lease ends")
        let cutOffAt = cluster.now
        var leadingUntil = cutOffAt
        for _ in 0..<1_000 {
            guard leader.role == .leader, leader.nextDeadline != nil, cluster.now < cutOffAt + options.leaseDuration * 2 else { break }
            leadingUntil = cluster.now
            cluster.fireTimer(.n1)
        }
        #expect(leader.role == .follower, "still leading \(cluster.now - cutOffAt) after it was cut off")
        #expect(leadingUntil - cutOffAt <= options.leaseDuration, "stepped down \(leadingUntil - cutOffAt) after the cut")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func retransmitsToAFollowerThatNeverAnswersBackOffToAFewTimesASecond() throws {
        let options = CellOptions()
        let cluster = TestCluster(size: 3, options: options, seed: 9)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())
        cluster.block(from: .n1, to: .n3)
        let mark = cluster.sent.count
        #expect(cluster.propose(.command([7]), at: .n1).isAccepted)
        cluster.run(for: .seconds(10))
        let toSilent = cluster.sent(since: mark).filter { $0.to == .n3 && $0.kind == .accept }.map(\.deliverAt)
        let gaps = zip(toSilent, toSilent.dropFirst()).map { $1 - $0 }
        // Every 100 ms it would be about 100 sends; doubling up to 1.6 s gives far fewer.
        #expect(toSilent.count >= 5 && toSilent.count <= 12, "\(toSilent.count) accepts to the silent follower: gaps \(gaps)")
        #expect(gaps.last.map { $0 >= options.retransmitInterval * 8 } ?? false, "gaps \(gaps)")

        // Once it answers again, retransmits are prompt again.
        cluster.unblock(from: .n1, to: .n3)
        #expect(cluster.runUntilQuiet())
        #expect(cluster[.n3].commitIndex == cluster[.n1].commitIndex)
    }

    @Test func aCorruptedEntryIsRefusedAndTheLeaderSendsItAgain() throws {
        let cluster = TestCluster(size: 3, seed: 13)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())
        let follower = cluster[.n2]
        let before = follower.lastIndex
        var damaged = LogEntry(index: before + 1, ballot: cluster[.n1].ballot, payload: .command([1, 2, 3]))
        damaged.payload = .command([1, 2, 4])
        #expect(!damaged.isIntact)
        cluster.inject(.accept(ballot: cluster[.n1].ballot, previousIndex: before,
                               previousBallot: cluster[.n1].ballot, entries: [damaged], commitIndex: 0,
                               sentAt: cluster.now), from: .n1, to: .n2)
        cluster.deliverAll()
        #expect(follower.corruptEntriesRefused == 1)
        #expect(follower.lastIndex == before, "the damaged entry was appended")

        #expect(cluster.propose(.command([9]), at: .n1).isAccepted)
        #expect(cluster.runUntilQuiet())
        #expect(cluster.stateMachineDisagreement() == nil)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }
}

extension ProposalResult {
    var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}
