/// What the node layer's liveness view tells a replica, shared by every cell of
/// a node pair: it replaces per-cell timeouts and retransmissions to a dead node.
extension CellReplica {
    /// The node of `peer` stopped answering: a leader stops sending to it.
    public func peerUnreachable(_ peer: NodeID) {
        guard role == .leader, var state = progress[peer] else { return }
        state.paused = true
        state.lastSentAt = nil
        state.inflight = 0
        progress[peer] = state
    }

    /// The node of `peer` is back (or newly connected): a leader resumes from
    /// what the follower is known to hold, which starts its catch-up at once.
    public func peerReachable(_ peer: NodeID, now: Instant) {
        guard role == .leader, var state = progress[peer] else { return }
        state.paused = false
        state.nextIndex = state.matchIndex + 1
        state.inflight = 0
        state.unansweredRetransmits = 0
        progress[peer] = state
        sendAccept(to: peer, now: now)
    }

    /// A replica created for a client's request campaigns now rather than after
    /// an election timeout: the cell is new here, and a request waits on it.
    /// (If another replica leads, it refuses the probe and answers with an
    /// accept, which makes this one its follower.)
    /// A replica restored at a node's start does not campaign on its own: after
    /// a full restart thousands of cells electing at once, on busy cores,
    /// kept timing each other out (perf: elections were most of a contended
    /// restart's CPU). It follows whoever leads, and campaigns when a client
    /// needs the cell (``campaignSoon(now:)``) or its leader is suspected.
    public func campaignOnFirstUse() {
        guard role == .follower, leader == nil else { return }
        campaignAt = nil
    }

    public func campaignSoon(now: Instant) {
        guard role == .follower, leader == nil, configuration.contains(me) else { return }
        campaignAt = max(now, promiseHeldUntil)
    }
}
