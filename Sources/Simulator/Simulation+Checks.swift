import Cell
import Linearizability

extension Simulation {
    /// At most one replica of a cell may serve lease reads at any instant, and
    /// at most one replica leads any one ballot. Checked after every event that
    /// touched the cell: a lease only starts when its holder handles an event.
    func checkLease(_ cell: Int) {
        var holders: [NodeID] = []
        for member in cellReplicas[cell] {
            let node = nodes[Int(member.rawValue)]
            guard node.isUp, let hosted = node.hosted(cell) else { continue }
            let replica = hosted.replica
            if replica.role == .leader {
                if let other = leaderOfBallot[cell]?[replica.ballot], other != member {
                    violation("cell \(cell): \(other) and \(member) both lead \(replica.ballot)")
                }
                leaderOfBallot[cell, default: [:]][replica.ballot] = member
            }
            if replica.canServeLeaseRead(now: node.localNow(now)) { holders.append(member) }
        }
        if holders.count > 1 {
            violation("cell \(cell): \(holders.map(\.description).joined(separator: " and ")) both hold a valid lease")
        }
    }

    /// After the faults heal, every cell has one leader that committed in its
    /// ballot, and all replicas applied the same state.
    func checkLiveness() {
        for cell in 0..<options.cells {
            let hosted = cellReplicas[cell].compactMap { nodes[Int($0.rawValue)].hosted(cell) }
            let leaders = hosted.filter { $0.replica.role == .leader }
            guard leaders.count == 1, let leader = leaders.first else {
                violation("liveness: cell \(cell) has \(leaders.count) leaders \(options.livenessBound) after the faults healed")
                return
            }
            guard leader.replica.commitIndex >= leader.replica.lastIndex, leader.replica.commitIndex > 0 else {
                violation("liveness: cell \(cell)'s leader has not committed its log after the faults healed")
                return
            }
            // Every replica's page store holds the leader's state, item for item.
            let leaderState = try? leader.stateMachine.encodedSnapshot()
            for replica in hosted where replica.stateMachine.appliedIndex != leader.stateMachine.appliedIndex
                || (try? replica.stateMachine.encodedSnapshot()) != leaderState {
                violation("liveness: cell \(cell): replica on \(replica.replica.me) applied through \(replica.stateMachine.appliedIndex), leader through \(leader.stateMachine.appliedIndex), and their states differ")
                return
            }
        }
    }

    /// A read of every key from its cell's leader at the end, each by a client of its own.
    func finalReads() -> [Linearizability.Operation<RegisterInput, RegisterOutput>] {
        var reads: [Linearizability.Operation<RegisterInput, RegisterOutput>] = []
        for cell in 0..<options.cells {
            guard let leader = cellReplicas[cell].compactMap({ nodes[Int($0.rawValue)].hosted(cell) })
                .first(where: { $0.replica.role == .leader }) else { continue }
            for key in cellKeys[cell] {
                let value: String?
                do {
                    value = try leader.value(of: key)
                } catch {
                    violation("cell \(cell): the leader cannot read \(key) at the end: \(error)")
                    continue
                }
                reads.append(Operation(client: clients.count + reads.count, input: .get(key), invokedAt: Int(now),
                                       outcome: .ok(.value(value), returnedAt: Int(now))))
            }
        }
        return reads
    }

    /// Data operations node `node`'s disk did so far (a crash test fails each one in turn).
    public func diskOperations(ofNode node: Int) -> Int { nodes[node].disk.operationCount }

    /// The client history must be linearizable (per key, register with CAS).
    func checkHistory() {
        let checker = LinearizabilityChecker(model: RegisterModel<String, String>(), limits: CheckLimits(maxStatesPerKey: 2_000_000))
        // A run cut short by a violation leaves operations in flight: they may have taken effect.
        var operations = history
        // With every cell live, the leaders' final state is read back as one more client would:
        // an acknowledged write lost in a crash shows up here even if no client read its key later.
        if report.live == true { operations += finalReads() }
        for client in clients {
            guard let current = client.current, let input = current.input else { continue }
            operations.append(Operation(client: client.id, input: input, invokedAt: Int(current.invokedAt), outcome: .unknown))
        }
        let result = checker.check(operations)
        report.historyOperations = operations.count
        switch result {
        case .linearizable:
            report.linearizable = true
        case .timedOut:
            report.linearizable = nil
        default:
            report.linearizable = false
            violation("history is not linearizable: \(result)")
        }
    }
}
