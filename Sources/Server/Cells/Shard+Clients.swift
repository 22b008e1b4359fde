import Cell
import CellHost
import Wire

/// Serving clients: writes go through the log, strong reads through the
/// leader's lease, eventual reads from whatever this replica has applied.
extension Shard {
    static let pageBytesMaximum = 4 << 20

    func write(_ command: CellCommand, cell id: UInt64, responder: Responder) {
        guard !stopping else { return responder.send(.error(.shuttingDown, "the node is stopping")) }
        guard let hosted = cell(id, forClient: true) else { return responder.send(notReplica(id)) }
        if let refusal = refusalOfCutOffLeader(hosted) { return responder.send(refusal) }
        let payload = command.encoded()
        guard hosted.hasRoomForWrite(bytes: payload.count) else {
            return responder.send(.error(.overloaded, "cell \(String(id, radix: 16)) has \(hosted.pendingWrites.count) writes (\(hosted.pendingWriteBytes) bytes) waiting to commit, its bound; retry after a pause"))
        }
        switch hosted.replica.propose(.command(payload), now: now) {
        case .accepted(let index, _):
            hosted.addPendingWrite(at: index, command, responder, bytes: payload.count)
            drive(hosted)
            finishPassSoon()
        case .notLeader(let hint):
            responder.send(.notLeader(leader: hint.map { services.layout.member($0).id }))
        case .busy:
            responder.send(.error(.unavailable, "the cell is changing its replicas; retry"))
        case .rejected(let reason):
            responder.send(.error(.badRequest, reason))
        }
    }

    func read(_ read: CellRead, consistency: ReadConsistency, cell id: UInt64, responder: Responder) {
        guard !stopping else { return responder.send(.error(.shuttingDown, "the node is stopping")) }
        guard let hosted = cell(id, forClient: true) else { return responder.send(notReplica(id)) }
        let replica = hosted.replica
        if consistency == .eventual || replica.canServeLeaseRead(now: now) {
            responder.send(answer(read, from: hosted))
        } else if let refusal = refusalOfCutOffLeader(hosted) {
            responder.send(refusal)
        } else if replica.role == .leader {
            // The lease ran out (an idle cell) or the first commit is pending: renew, answer when it holds.
            hosted.pendingReads.append((read, responder))
            replica.renewLease(now: now)
            drive(hosted)
            finishPassSoon()
        } else {
            responder.send(.notLeader(leader: leaderMemberID(hosted)))
        }
    }

    /// A leader whose node suspects a quorum of the cell's other replicas can
    /// neither commit nor renew its lease: it says so at once, so the client
    /// moves on to the majority instead of waiting out its attempt.
    private func refusalOfCutOffLeader(_ hosted: ShardCell) -> ClientResponse.Body? {
        let replica = hosted.replica
        guard replica.role == .leader, !replica.reachesQuorum, !replica.canServeLeaseRead(now: now) else { return nil }
        return .notLeader(leader: nil)
    }

    func serveWaitingReads(_ hosted: ShardCell) {
        guard !hosted.pendingReads.isEmpty, hosted.replica.canServeLeaseRead(now: now) else { return }
        let reads = hosted.pendingReads
        hosted.pendingReads = []
        for (read, responder) in reads { responder.send(answer(read, from: hosted)) }
    }

    /// Reads from the page store; a page that fails its checksum is reported, never returned as data.
    private func answer(_ read: CellRead, from hosted: ShardCell) -> ClientResponse.Body {
        do {
            return try readPageStore(read, from: hosted)
        } catch {
            services.logger.error("read failed", metadata: ["cell": "\(String(hosted.cell, radix: 16))", "error": "\(error)"])
            return .error(.internalError, "node \(services.layout.configuration.memberID) could not read the item: \(error)")
        }
    }

    private func readPageStore(_ read: CellRead, from hosted: ShardCell) throws -> ClientResponse.Body {
        if let answer = try answerQueueRead(read, from: hosted) { return answer }
        switch read {
        case .get(let key):
            return .item(try hosted.stateMachine.read(key).map { WireItem(sortKey: $0.sortKey, value: $0.value, version: $0.version) })
        case .query(let collection, let from, let to, let reverse, let limit, let after):
            let page = try hosted.stateMachine.query(collection: collection, from: from, to: to, reverse: reverse,
                                                     limit: limit, after: after)
            // A page also stops at about 4 MiB (at least one item): the client continues from its last key.
            var items: [WireItem] = []
            var bytes = 0
            for item in page.items {
                if !items.isEmpty && bytes + item.value.count + item.sortKey.count > Self.pageBytesMaximum {
                    return .page(items: items, more: true)
                }
                bytes += item.value.count + item.sortKey.count
                items.append(WireItem(sortKey: item.sortKey, value: item.value, version: item.version))
            }
            return .page(items: items, more: page.more)
        case .queueEntries, .queueStatus, .queuePosition:
            preconditionFailure("queue reads are answered above")
        }
    }

    private func notReplica(_ cell: UInt64) -> ClientResponse.Body {
        .error(.notReplica, "node \(services.layout.configuration.memberID) hosts no replica of cell \(String(cell, radix: 16)); refresh the member list")
    }
}
