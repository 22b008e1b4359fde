import Cell
import Linearizability
import Storage

extension Simulation {
    /// The keys of the workload: a few per cell, so that operations collide.
    func key(_ index: Int) -> (key: String, cell: Int) {
        let cell = index % options.cells
        return (cellKeys[cell][index / options.cells], cell)
    }

    func startOperation(_ clientIndex: Int) {
        guard clientsActive, options.operationsMaximum == 0 || nextOperation < options.operationsMaximum else { return }
        var client = clients[clientIndex]
        let (key, cell) = key(random.int(0..<(options.cells * options.keysPerCell)))
        let operation = nextOperation
        nextOperation += 1
        client.sequence += 1
        let value = "c\(clientIndex)-\(client.sequence)"
        var input: RegisterInput?
        let kind: ClientRequest.Kind
        var queueInput: QueueInput?
        switch random.int(0..<100) {
        case 90..<100:
            (queueInput, kind) = queueOperation(clientIndex, client.sequence, cell: cell, operation: operation)
        case 0..<35:
            input = .put(key, value)
            kind = .write(command(clientIndex, client.sequence, key, value: value, condition: .none))
            writtenValues[key, default: []].insert(value)
        case 35..<55:
            let expected = client.lastRead[key] ?? nil
            input = .cas(key, expected: expected, new: value)
            kind = .write(command(clientIndex, client.sequence, key, value: value,
                                  condition: expected.map { .valueEquals(Array($0.utf8)) } ?? .absent))
            writtenValues[key, default: []].insert(value)
        case 55..<60:
            input = .delete(key)
            kind = .write(command(clientIndex, client.sequence, key, value: nil, condition: .none))
        case 60..<80:
            input = .get(key)
            kind = .read(key: key, strong: true)
        default:
            input = nil  // an eventual read: may be stale, so it is checked on its own
            kind = .read(key: key, strong: false)
        }
        let request = ClientRequest(client: clientIndex, operation: operation, cell: cell, kind: kind)
        client.current = SimulatedClient.Current(
            operation: operation, input: input, queueInput: queueInput, request: request, invokedAt: now,
            deadline: now + Self.operationTimeout)
        clients[clientIndex] = client
        send(request, clientIndex)
        push(.clientDeadline(client: clientIndex, operation: operation), after: Self.operationTimeout)
    }

    /// One write of one key. The client has one request outstanding at a time,
    /// so every sequence below the current one is finished.
    private func command(
        _ clientIndex: Int, _ sequence: UInt64, _ key: String, value: String?, condition: WriteCondition
    ) -> CellCommand {
        let write = ItemWrite(key: ItemKey(collection: Array(key.utf8)), value: value.map { Array($0.utf8) }, condition: condition)
        return CellCommand(clientID: UInt64(clientIndex), sequence: sequence, acknowledgedBelow: sequence, writes: [write])
    }

    func send(_ request: ClientRequest, _ clientIndex: Int) {
        let replicas = cellReplicas[request.cell]
        let target = clients[clientIndex].leaderGuess[request.cell] ?? replicas[random.int(0..<replicas.count)]
        clients[clientIndex].current?.attempts += 1
        report.messages += 1
        if faultsActive && options.faults.contains(.drop) && random.chance(0.03) { return }
        push(.request(to: target, request), after: random.nanoseconds(100_000...900_000))
    }

    func receive(_ response: ClientResponse, client clientIndex: Int, operation: Int) {
        guard let current = clients[clientIndex].current, current.operation == operation else { return }
        switch response {
        case .notLeader(let hint):
            let replicas = cellReplicas[current.request.cell]
            clients[clientIndex].leaderGuess[current.request.cell] = hint ?? replicas[random.int(0..<replicas.count)]
            // Same request id: if an earlier attempt did reach a leader, the cell answers it once.
            let request = current.request
            queue.push(.request(to: clients[clientIndex].leaderGuess[request.cell]!, request), at: now + random.nanoseconds(2_000_000...10_000_000))
            report.messages += 1
        case .written(.queue(let outcome)):
            guard let input = current.queueInput else { return }
            finishQueue(clientIndex, current, input: input, outcome: .ok(Self.output(of: outcome), returnedAt: Int(now)))
        case .queueRead(let output):
            guard let input = current.queueInput else { return }
            finishQueue(clientIndex, current, input: input, outcome: .ok(output, returnedAt: Int(now)))
        case .written(let result):
            guard let input = current.input else { return }
            let output: RegisterOutput
            switch result {
            case .applied: output = .ok
            case .conditionFailed: output = .casFailed
            case .expired:
                // Only a sequence below what the client acknowledged expires, and this client
                // acknowledges only the sequences before its current one: the cell broke its session.
                // Reported, and the outcome left unknown so that the history stays checkable.
                violation("client \(clientIndex): cell \(current.request.cell) answered its current request as expired")
                finish(clientIndex, current, input: input, outcome: .unknown)
                return
            case .queue(let outcome):
                // The simulated clients send register writes only.
                violation("client \(clientIndex): cell \(current.request.cell) answered a register write with a queue outcome \(outcome)")
                finish(clientIndex, current, input: input, outcome: .unknown)
                return
            }
            finish(clientIndex, current, input: input, outcome: .ok(output, returnedAt: Int(now)))
        case .value(let value):
            if let input = current.input {
                clients[clientIndex].lastRead[input.key] = value
                finish(clientIndex, current, input: input, outcome: .ok(.value(value), returnedAt: Int(now)))
            } else {
                // Eventual read: any value ever written to the key (or none) is fine.
                if case .read(let key, _) = current.request.kind, let value, writtenValues[key]?.contains(value) != true {
                    violation("eventual read of \(key) returned \(value), which no client wrote")
                }
                report.eventualReads += 1
                clients[clientIndex].current = nil
                push(.clientNext(client: clientIndex), after: random.nanoseconds(1_000_000...10_000_000))
            }
        }
    }

    func giveUp(_ clientIndex: Int, operation: Int) {
        guard let current = clients[clientIndex].current, current.operation == operation else { return }
        clients[clientIndex].leaderGuess[current.request.cell] = nil
        if let input = current.queueInput {
            finishQueue(clientIndex, current, input: input, outcome: .unknown)
        } else if let input = current.input {
            finish(clientIndex, current, input: input, outcome: .unknown)
        } else {
            clients[clientIndex].current = nil
            push(.clientNext(client: clientIndex), after: random.nanoseconds(1_000_000...10_000_000))
        }
    }

    private func finish(_ clientIndex: Int, _ current: SimulatedClient.Current, input: RegisterInput, outcome: Outcome<RegisterOutput>) {
        history.append(Operation(client: clientIndex, input: input, invokedAt: Int(current.invokedAt), outcome: outcome))
        finished(clientIndex, outcome)
    }

    /// Counts an operation's outcome and lets its client start the next one.
    func finished<Output>(_ clientIndex: Int, _ outcome: Outcome<Output>) {
        switch outcome {
        case .ok: report.operationsOK += 1
        case .failed: report.operationsFailed += 1
        case .unknown: report.operationsUnknown += 1
        }
        clients[clientIndex].current = nil
        push(.clientNext(client: clientIndex), after: random.nanoseconds(1_000_000...10_000_000))
    }
}
