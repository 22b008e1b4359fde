import Cell
import TestSupport
import Testing

/// Replicas crash and come back from what they persisted; compacted logs reach
/// lagging followers as snapshots.
@Suite(.cpuBound)
struct CrashAndSnapshotTests {
    @Test func aCrashedFollowerCatchesUpAfterRestartThenACrashedLeaderComesBackAsAFollowerAndNothingCommittedIsLost() throws {
        let cluster = TestCluster(size: 3, seed: 31)
        cluster.elect(.n1)
        var acknowledged: [String: String] = [:]
        func write(_ key: String, _ value: String, sequence: UInt64, at leader: NodeID) {
            let command = CellCommand.put(key, value, client: 9, sequence: sequence)
            #expect(cluster.propose(command.payload, at: leader).index != nil, "\(leader) refused \(key)")
            acknowledged[key] = value
        }
        write("a", "1", sequence: 1, at: .n1)
        #expect(cluster.runUntilQuiet())

        // A follower crashes and misses three commits.
        cluster.crash(.n3)
        for (number, key) in ["b", "c", "d"].enumerated() { write(key, "2", sequence: UInt64(number + 2), at: .n1) }
        cluster.run(for: .milliseconds(300))
        #expect(cluster[.n1].commitIndex == 5, "the leader and n2 are a quorum")
        let missed = cluster.persisted[.n3]!.entries.map(\.index).max() ?? 0
        #expect(missed == 2, "n3 persisted through \(missed)")

        // It restarts from its disk alone, and the leader's retransmissions catch it up.
        cluster.restart(.n3)
        #expect(cluster[.n3].role == .follower)
        #expect(cluster.stateMachine(.n3).value("a") == "1", "re-applied its committed prefix on restart")
        cluster.run(for: .milliseconds(500))
        #expect(cluster[.n3].commitIndex == 5)
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")

        // Now the leader crashes; the survivors' node layers notice, and once
        // their promises run out one of them leads in a higher ballot.
        let oldBallot = cluster[.n1].ballot
        cluster.crash(.n1)
        cluster.run(for: .seconds(3))
        let newLeader = try #require(cluster.leader, "no leader after the old one crashed")
        #expect(newLeader.me != .n1 && newLeader.ballot > oldBallot)
        write("e", "3", sequence: 5, at: newLeader.me)
        cluster.run(for: .milliseconds(100))

        // The old leader restarts as a follower, honouring its old promises.
        cluster.restart(.n1)
        #expect(cluster[.n1].role == .follower)
        #expect(cluster[.n1].ballot == oldBallot, "its ballot comes from disk")
        write("f", "4", sequence: 6, at: newLeader.me)
        cluster.run(for: .seconds(1))
        #expect(cluster[.n1].role == .follower && cluster[.n1].leader == newLeader.me)
        #expect(cluster.leaders.map(\.me) == [newLeader.me])

        for id in cluster.runningNodes {
            for (key, value) in acknowledged.sorted(by: { $0.key < $1.key }) {
                #expect(cluster.stateMachine(id).value(key) == value, "\(id) lost \(key)")
            }
            #expect(cluster[id].commitIndex == newLeader.commitIndex)
        }
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test func aFollowerIsolatedPastTheLeadersCompactedLogReceivesASnapshotAndEndsWithTheSameState() throws {
        let cluster = TestCluster(size: 3, seed: 32)
        cluster.elect(.n1)
        cluster.isolate(.n3)
        for number in 1...30 {
            cluster.propose(CellCommand.put("k\(number % 7)", "v\(number)", client: UInt64(number % 3), sequence: UInt64(number)).payload, at: .n1)
        }
        cluster.run(for: .milliseconds(200))
        #expect(cluster[.n1].commitIndex == 31)

        // The leader compacts everything it applied: n3 now needs entries it no longer has.
        let snapshotIndex = try #require(cluster.compact(.n1))
        #expect(snapshotIndex == 31)
        #expect(cluster[.n1].firstIndex == 32 && cluster[.n1].latestSnapshotIndex == 31)
        #expect(cluster[.n3].lastIndex < cluster[.n1].firstIndex)
        // Its encoded state restores to the very same state machine.
        var restored = CellStateMachine()
        try restored.restore(Snapshot(index: 31, ballot: cluster[.n1].ballot, configuration: [.n1, .n2, .n3],
                                  state: cluster.stateMachine(.n1).encoded()))
        #expect(restored == cluster.stateMachine(.n1) && restored.encoded() == cluster.stateMachine(.n1).encoded())

        for number in 31...35 {
            cluster.propose(CellCommand.put("late\(number)", "v", client: 5, sequence: UInt64(number)).payload, at: .n1)
        }
        cluster.heal(.n3)
        #expect(cluster.runUntilQuiet())

        #expect(cluster.sent.contains { $0.kind == .installSnapshot && $0.to == .n3 })
        #expect(cluster.snapshotsInstalled[.n3] == 1, "n3's readies carried \(cluster.snapshotsInstalled[.n3] ?? 0) snapshots")
        #expect(cluster[.n3].latestSnapshotIndex == 31 && cluster[.n3].commitIndex == 36)
        #expect(cluster.stateMachine(.n3).encoded() == cluster.stateMachine(.n1).encoded())
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")

        // What n3 persisted (snapshot and the entries after it) is enough to come back.
        #expect(cluster.persisted[.n3]?.snapshot?.index == 31)
        cluster.crash(.n3, detected: false)
        cluster.restart(.n3)
        #expect(cluster.stateMachine(.n3).encoded() == cluster.stateMachine(.n1).encoded())
        cluster.propose(CellCommand.put("after", "restart", client: 6, sequence: 1).payload, at: .n1)
        #expect(cluster.runUntilQuiet())
        #expect(cluster.stateMachine(.n3).value("after") == "restart")
        #expect(cluster.stateMachineDisagreement() == nil, "\(cluster.stateMachineDisagreement() ?? "")")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// A slow follower: its link delivers everything, in order, just late.
    /// The leader's retransmission falls back to a snapshot while the
    /// original accepts are still queued; the follower acknowledges those
    /// entries (and the leader commits on that acknowledgement), then the
    /// snapshot arrives and must not make the follower forget them.
    @Test func aSnapshotArrivingAfterLaterEntriesDoesNotEraseEntriesTheFollowerAlreadyAcknowledged() throws {
        // One accept per proposal (no flow control), so that the schedule below can
        // hand n3 exactly the entries up to 6.
        var options = CellOptions()
        options.inflightAcceptsMaximum = 100
        let cluster = TestCluster(size: 3, options: options, seed: 33)
        cluster.elect(.n1)
        #expect(cluster.runUntilQuiet())

        // Nine commands (indices 2…10); n2's link is slow, so nothing reaches it yet.
        var commands: [CellCommand] = []
        for number in 2...10 {
            let command = CellCommand.put("k\(number)", "v\(number)", client: 1, sequence: UInt64(number))
            commands.append(command)
            #expect(cluster.propose(command.payload, at: .n1).index == LogIndex(number))
        }
        // n3 gets (and acknowledges) indices up to 6, then is cut off: the leader commits 6.
        cluster.drop { $0.to == .n3 && ($0.entries.last?.index ?? 0) > 6 }
        cluster.deliverPending { $0.to == .n3 }
        cluster.deliverPending { $0.from == .n3 && $0.to == .n1 }
        #expect(cluster[.n1].commitIndex == 6)
        cluster.isolate(.n3)
        let snapshotIndex = try #require(cluster.compact(.n1))
        #expect(snapshotIndex == 6)

        // The leader's retransmission to n2 must now be a snapshot; it queues behind the accepts.
        for _ in 0..<5 where !cluster.inFlight.contains(where: { $0.to == .n2 && $0.kind == .installSnapshot }) {
            cluster.fireTimer(.n1)
        }
        let snapshot = try #require(cluster.inFlight.first { $0.to == .n2 && $0.kind == .installSnapshot })
        // n2 takes the accepts (2…10) and acknowledges; on that, the leader commits 10.
        cluster.deliverPending { $0.to == .n2 && $0.kind == .accept }
        #expect(cluster[.n2].lastIndex == 10 && cluster[.n2].commitIndex == 1)
        cluster.deliverPending { $0.from == .n2 && $0.to == .n1 }
        #expect(cluster[.n1].commitIndex == 10, "acknowledged by n1 and n2")
        #expect(cluster.committed[10]?.payload == commands.last!.payload)
        // Then, next in order on the same link (before anything the leader sent
        // after those acknowledgements), the snapshot.
        #expect(cluster.deliverPending { $0.sequence == snapshot.sequence } == 1)
        #expect(cluster[.n2].lastIndex >= 10, "n2 forgot the entries it acknowledged: its log now ends at \(cluster[.n2].lastIndex)")

        // What that costs: the leader crashes; n3 comes back; n2 and n3 elect a leader.
        cluster.crash(.n1)
        cluster.heal(.n3)
        cluster.run(for: .seconds(4))
        let newLeader = try #require(cluster.leader)
        cluster.restart(.n1)
        cluster.run(for: .seconds(1))
        for command in commands {
            let key = command.writes[0].key
            #expect(cluster.stateMachine(newLeader.me).read(key) != nil, "committed \(String(decoding: key.collection, as: UTF8.self)) lost")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(3))")
    }

    /// A late snapshot reaching a follower whose commit index is past it is
    /// refused (Raft's rule), even though the follower has not applied those
    /// entries yet: they are in a ready still being written, and their
    /// applies would land on top of the install's writes (simulator seed
    /// 7760420: a queue's head rolled back on one replica).
    @Test func aSnapshotAtOrBelowTheCommitIndexIsRefusedWhileItsEntriesAwaitApplying() throws {
        let (n1, n2, n3) = (NodeID(1), NodeID(2), NodeID(3))
        let ballot = Ballot(7)
        let follower = CellReplica(me: n2, configuration: [n1, n2, n3], now: .zero, randomSeed: 1)
        let entries = (1...10).map { LogEntry(index: $0, ballot: ballot, payload: .command([UInt8($0)])) }
        let sentAt = Instant(nanoseconds: 1_000)
        follower.step(.accept(ballot: ballot, previousIndex: 0, previousBallot: .zero, entries: entries,
                              commitIndex: 10, sentAt: sentAt), from: n1, now: sentAt)
        let inFlight = follower.takeReady()
        #expect(inFlight.committed.map(\.index) == Array(1...10), "the entries to apply, handed out and not yet advanced")

        let snapshot = Snapshot(index: 6, ballot: ballot, configuration: [n1, n2, n3], state: [])
        follower.step(.installSnapshot(ballot: ballot, snapshot: snapshot, sentAt: sentAt), from: n1, now: sentAt)
        let next = follower.takeReady()
        #expect(next.snapshot == nil, "a snapshot at 6 installed with entries through 10 committed")
        #expect(follower.commitIndex == 10 && follower.lastIndex == 10)
        let answers = (next.messages + next.earlyMessages).compactMap { answer -> LogIndex? in
            guard answer.to == n1, case .accepted(_, true, let matchIndex, _) = answer.message else { return nil }
            return matchIndex
        }
        #expect(answers == [10], "the follower answers with what it holds")

        follower.advance(inFlight, now: sentAt)
        follower.advance(next, now: sentAt)
        #expect(follower.appliedIndex == 10)
    }
}
