import Cell
import CellHost
import Linearizability

/// Queues in the simulation: clients append (some fenced by a leader name),
/// set leaders, read and trim a few queues per cell. Their history is checked
/// with the log model.
extension Simulation {
    func queueOperation(_ clientIndex: Int, _ sequence: UInt64, cell: Int, operation: Int) -> (QueueInput, ClientRequest.Kind) {
        let key = cellQueues[cell][random.int(0..<Self.queuesPerCell)]
        let leader = "L\(clientIndex % 2)"
        let tail = queueTails[key] ?? 0
        let change: QueueOperation
        let input: QueueInput
        switch random.int(0..<15) {
        case 0..<6:
            change = .append(payload: Self.payload(operation), leader: nil)
            input = .append(key, payload: Int64(operation), leader: nil)
        case 6..<9:
            change = .append(payload: Self.payload(operation), leader: leader)
            input = .append(key, payload: Int64(operation), leader: leader)
        case 9:
            change = .setLeader(leader, expected: nil)
            input = .setLeader(key, new: leader, expected: nil)
        case 10:
            let expected = "L\((clientIndex + 1) % 2)"
            change = .setLeader(leader, expected: expected)
            input = .setLeader(key, new: leader, expected: expected)
        case 11..<14:
            let from = UInt64(random.int(1...Int(tail + 2)))
            return (.read(key, from: from, max: Self.queueReadMaximum), .queueRead(key: key, from: from))
        default:
            let through = UInt64(random.int(1...Int(max(1, tail / 2))))
            change = .trim(through: through)
            input = .trim(key, through: through)
        }
        let command = CellCommand(clientID: UInt64(clientIndex), sequence: sequence, acknowledgedBelow: sequence,
                                  body: .queue(queue: Array(key.utf8), operation: change, nowMilliseconds: UInt64(max(0, now / 1_000_000))))
        return (input, .write(command))
    }

    static let queueReadMaximum = 20
    static let queuesPerCell = 6

    static func payload(_ operation: Int) -> [UInt8] { withUnsafeBytes(of: Int64(operation).littleEndian) { Array($0) } }

    static func output(of outcome: QueueOutcome) -> QueueOutput {
        switch outcome {
        case .appended(let sequence): .appended(seq: sequence)
        case .fenced(let current, _): .fenced(current: current)
        case .leaderSet(let previous): .leaderSet(previous: previous)
        case .leaderMismatch(let current): .leaderMismatch(current: current)
        case .trimmed(let through): .trimmedTo(through)
        // A queue never written has no entries: trimming it is trimming past its last.
        case .badSequence, .unknownQueue: .badSequence
        // The simulation takes no leases and commits no positions.
        case .leaseGranted, .leaseHeld, .leaseExpired, .committed: .badSequence
        }
    }

    /// A queue read from a replica's page store, as the log model states it.
    func queueRead(_ key: String, from: UInt64, _ hosted: SimulatedCell) throws -> QueueOutput {
        let queue = Array(key.utf8)
        let items = hosted.stateMachine.queueItems
        guard let head = try items.queueHead(queue) else { return .entries([]) }
        if head.trimmedThrough > 0, from <= head.trimmedThrough { return .trimmed(through: head.trimmedThrough) }
        let entries = try items.queueEntries(queue, head: head, from: from, countMaximum: Self.queueReadMaximum,
                                             bytesMaximum: 1 << 20) { extent, _, _, _ in
            throw QueueReadError.missingEntry(sequence: extent.firstSequence)
        }
        return .entries(entries.map { entry in
            LogModel.Entry(seq: entry.sequence, payload: entry.payload.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) })
        })
    }

    func finishQueue(_ clientIndex: Int, _ current: SimulatedClient.Current, input: QueueInput, outcome: Outcome<QueueOutput>) {
        if case .ok(.appended(let seq), _) = outcome, case .append(let key, _, _) = input {
            queueTails[key] = max(queueTails[key] ?? 0, seq)
        }
        queueHistory.append(Operation(client: clientIndex, input: input, invokedAt: Int(current.invokedAt), outcome: outcome))
        finished(clientIndex, outcome)
    }

    /// The queue history must be linearizable (per queue, a fenced log).
    func checkQueueHistory() {
        var operations = queueHistory
        for client in clients {
            guard let current = client.current, let input = current.queueInput else { continue }
            operations.append(Operation(client: client.id, input: input, invokedAt: Int(current.invokedAt), outcome: .unknown))
        }
        guard !operations.isEmpty else { return }
        // A log's states hold its entries: a smaller budget than registers' keeps a hard history's search within memory.
        let checker = LinearizabilityChecker(model: LogModel(), limits: CheckLimits(maxStatesPerKey: 200_000))
        let result = checker.check(operations)
        report.historyOperations += operations.count
        switch result {
        case .linearizable: break
        case .timedOut: if report.linearizable == true { report.linearizable = nil }
        default:
            report.linearizable = false
            violation("queue history is not linearizable: \(result)")
        }
    }
}
