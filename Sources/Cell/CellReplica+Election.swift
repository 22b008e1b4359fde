/// Phase 1: campaigns, promises and taking leadership.
extension CellReplica {
    /// Starts a probe (pre-vote) or, after a winning probe, a real prepare in the next ballot.
    func campaign(now: Instant, probe: Bool) {
        guard configuration.contains(me) else { return }
        role = .candidate
        leader = nil
        probing = probe
        votes = [me]
        let target = hardState.ballot.next
        if !probe { setBallot(target, votedFor: me) }
        scheduleCampaign(now: now, notBefore: now)
        if votes.count >= quorum {
            if probe { campaign(now: now, probe: false) } else { becomeLeader(now: now) }
            return
        }
        for peer in configuration where peer != me {
            send(.prepare(ballot: target, lastIndex: log.lastIndex, lastBallot: log.lastBallot, probe: probe), to: peer)
        }
    }

    func handlePrepare(ballot: Ballot, lastIndex: LogIndex, lastBallot: Ballot, probe: Bool, from: NodeID, now: Instant) {
        // While a leader's lease may hold, promise no one else: this is what lets
        // the leader read locally without asking anyone.
        let holdsLease = role == .leader ? (leaseUntil.map { now < $0 } ?? false) : now < promiseHeldUntil
        let logIsCurrent = lastBallot > log.lastBallot || (lastBallot == log.lastBallot && lastIndex >= log.lastIndex)
        if probe {
            // Idle cells send nothing, so a follower that knows a live leader (the
            // node layer clears `leader` when it suspects that node) refuses probes:
            // otherwise a restarted replica would depose every idle leader.
            let followsAnother = role == .follower && leader != nil && leader != from
            let granted = ballot > hardState.ballot && logIsCurrent && role != .leader && !followsAnother
                && !(holdsLease && leader != from)
            send(.promise(ballot: ballot, granted: granted, probe: true), to: from)
            // A probe from a member tells the leader that member lost track of it
            // (a restart): an accept makes it a follower again and starts its catch-up.
            if role == .leader && configuration.contains(from) { sendAccept(to: from, now: now) }
            // Our own leader probing a later ballot has left ours for good (it
            // restarted before our node layer suspected it, or stepped down), so
            // it holds no lease. If it lost entries we accepted, it cannot win and
            // would wait forever: stop following it, and campaign once the promise
            // we made it runs out (the promise itself is kept).
            if role == .follower && leader == from && ballot > hardState.ballot && !logIsCurrent {
                leader = nil
                scheduleCampaign(now: now, notBefore: promiseHeldUntil)
            }
            return
        }
        if holdsLease && leader != from && ballot > hardState.ballot { return }
        if ballot > hardState.ballot { becomeFollower(ballot: ballot, leader: nil, now: now) }
        let alreadyPromised = hardState.votedFor != nil && hardState.votedFor != from
            && options.plantedBug != .promiseTwice
        let granted = ballot == hardState.ballot && !alreadyPromised && logIsCurrent
        if granted {
            setBallot(ballot, votedFor: from)
            scheduleCampaign(now: now, notBefore: now)
        }
        send(.promise(ballot: hardState.ballot, granted: granted, probe: false), to: from)
    }

    func handlePromise(ballot: Ballot, granted: Bool, probe: Bool, from: NodeID, now: Instant) {
        if !probe && ballot > hardState.ballot {
            becomeFollower(ballot: ballot, leader: nil, now: now)
            return
        }
        guard role == .candidate, probing == probe, granted else { return }
        guard probe ? ballot == hardState.ballot.next : ballot == hardState.ballot else { return }
        votes.insert(from)
        guard votes.count >= quorum else { return }
        if probe { campaign(now: now, probe: false) } else { becomeLeader(now: now) }
    }

    func becomeFollower(ballot: Ballot, leader newLeader: NodeID?, now: Instant) {
        if ballot > hardState.ballot { setBallot(ballot, votedFor: nil) }
        role = .follower
        leader = newLeader
        progress = [:]
        leaseUntil = nil
        commitNoticeDue = nil
        votes = []
        if newLeader == nil { scheduleCampaign(now: now, notBefore: promiseHeldUntil) } else { campaignAt = nil }
    }

    func becomeLeader(now: Instant) {
        role = .leader
        leader = me
        campaignAt = nil
        votes = []
        leaseUntil = nil
        progress = [:]
        for peer in configuration where peer != me {
            progress[peer] = Progress(nextIndex: log.lastIndex + 1)
        }
        // The no-op commits every earlier entry in this ballot; reads wait for it.
        ballotStartIndex = log.lastIndex + 1
        log.append(LogEntry(index: ballotStartIndex, ballot: hardState.ballot, payload: .noop))
        broadcastAccept(now: now)
    }
}
