import Cell
import Storage
import Testing

/// Queue operations as a cell applies them: sequences, staging, fencing,
/// leases, trims, commits, retries and their encodings.
@Suite struct QueueOperationTests {
    @Test func appendsGetDenseSequencesAndLargePayloadsAreStagedInChunks() throws {
        var cell = QueueCell()
        let large: [UInt8] = (0..<(700 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        #expect(cell.perform(.append(payload: Array("first".utf8), leader: nil), at: 1_000) == .appended(sequence: 1))
        #expect(cell.perform(.append(payload: large, leader: nil), at: 1_001) == .appended(sequence: 2))
        #expect(cell.perform(.append(payload: [], leader: nil), at: 1_002) == .appended(sequence: 3))

        #expect(cell.item(QueueLayout.stagedSortKey(sequence: 1, chunk: 0))?.value == Array("first".utf8))
        #expect(cell.item(QueueLayout.stagedSortKey(sequence: 1, chunk: 1)) == nil)
        var staged: [UInt8] = []
        for chunk in 0..<3 {
            let item = try #require(cell.item(QueueLayout.stagedSortKey(sequence: 2, chunk: chunk)), "chunk \(chunk)")
            let expectedBytes = chunk < 2 ? QueueLimits.stagedChunkBytes : large.count - 2 * QueueLimits.stagedChunkBytes
            #expect(item.value.count == expectedBytes && item.version == 2)
            staged += item.value
        }
        #expect(staged == large)
        #expect(cell.item(QueueLayout.stagedSortKey(sequence: 2, chunk: 3)) == nil)
        // An empty payload is an entry too: one chunk, empty.
        #expect(cell.item(QueueLayout.stagedSortKey(sequence: 3, chunk: 0))?.value.isEmpty == true)
        #expect(cell.item(QueueLayout.stagedSortKey(sequence: 3, chunk: 1)) == nil)

        let headItem = try #require(cell.item(QueueLayout.headSortKey))
        let head = try QueueHead(decoding: headItem.value)
        #expect(head.lastSequence == 3 && head.trimmedThrough == 0 && head.clockMilliseconds == 1_002)
        #expect(head.leader == nil && head.leaseHolder == nil)
        #expect(cell.machine.itemCount == 6, "the head, 1 + 3 + 1 chunks")
    }

    @Test func aLeaderFencesAppendsThatNameAnother() {
        var cell = QueueCell()
        #expect(cell.perform(.setLeader("a", expected: nil)) == .leaderSet(previous: nil))
        #expect(cell.perform(.append(payload: Array("1".utf8), leader: "a")) == .appended(sequence: 1))

        let before = cell.items()
        #expect(cell.perform(.setLeader("b", expected: "x")) == .leaderMismatch(current: "a"))
        #expect(cell.items() == before && cell.head()?.leader == "a")

        #expect(cell.perform(.setLeader("b", expected: "a")) == .leaderSet(previous: "a"))
        #expect(cell.perform(.append(payload: Array("2".utf8), leader: "a")) == .fenced(current: "b", leaseDeadlineMilliseconds: nil))
        #expect(cell.head()?.lastSequence == 1 && cell.item(QueueLayout.stagedSortKey(sequence: 2, chunk: 0)) == nil)

        // An unfenced append always applies; the new leader's too.
        #expect(cell.perform(.append(payload: Array("3".utf8), leader: nil)) == .appended(sequence: 2))
        #expect(cell.perform(.append(payload: Array("4".utf8), leader: "b")) == .appended(sequence: 3))
        #expect(cell.item(QueueLayout.stagedSortKey(sequence: 2, chunk: 0))?.value == Array("3".utf8))
        #expect(cell.head()?.lastSequence == 3 && cell.head()?.leader == "b")
    }

    @Test func leasesWaitOutTheirMarginAndTheQueueClockNeverGoesBack() {
        var cell = QueueCell()
        let margin: UInt64 = 201  // ceil(10_000 × 2 × 0.01) + 1
        #expect(cell.perform(.takeLease(holder: "a", milliseconds: 10_000), at: 1_000)
            == .leaseGranted(holder: "a", deadlineMilliseconds: 11_000))
        #expect(cell.head()?.leaseMarginMilliseconds == margin)
        // Through the deadline plus the margin, another holder is refused.
        for now in [11_000, 11_000 + margin] {
            #expect(cell.perform(.takeLease(holder: "b", milliseconds: 10_000), at: now)
                == .leaseHeld(holder: "a", deadlineMilliseconds: 11_000), "at \(now)")
        }
        let taken = 11_000 + margin + 1
        #expect(cell.perform(.takeLease(holder: "b", milliseconds: 10_000), at: taken)
            == .leaseGranted(holder: "b", deadlineMilliseconds: taken + 10_000))
        #expect(cell.perform(.renewLease(holder: "a", milliseconds: 10_000), at: taken + 1)
            == .leaseExpired(holder: "b", deadlineMilliseconds: taken + 10_000))
        #expect(cell.perform(.renewLease(holder: "b", milliseconds: 10_000), at: 12_000)
            == .leaseGranted(holder: "b", deadlineMilliseconds: 22_000))

        // Stamped before the queue's clock (12_000): judged at 12_000.
        #expect(cell.perform(.takeLease(holder: "c", milliseconds: 1_000), at: 5_000)
            == .leaseHeld(holder: "b", deadlineMilliseconds: 22_000))
        #expect(cell.perform(.renewLease(holder: "b", milliseconds: 9_000), at: 2_000)
            == .leaseGranted(holder: "b", deadlineMilliseconds: 21_000))

        // The leader holding the lease appends only while it lasts.
        #expect(cell.perform(.setLeader("b", expected: nil), at: 13_000) == .leaderSet(previous: nil))
        #expect(cell.perform(.append(payload: Array("in time".utf8), leader: "b"), at: 21_000) == .appended(sequence: 1))
        #expect(cell.perform(.append(payload: Array("late".utf8), leader: "b"), at: 21_001)
            == .fenced(current: "b", leaseDeadlineMilliseconds: 21_000))
        #expect(cell.perform(.renewLease(holder: "b", milliseconds: 10_000), at: 21_001)
            == .leaseExpired(holder: "b", deadlineMilliseconds: 21_000))
        #expect(cell.head()?.lastSequence == 1 && cell.head()?.leaseHolder == "b")
        #expect(cell.head()?.leaseDeadlineMilliseconds == 21_000)
    }

    @Test func trimAndCommitStayWithinTheQueueAndTrimNeverGoesBack() throws {
        var cell = QueueCell()
        for sequence: UInt64 in 1...3 {
            #expect(cell.perform(.append(payload: [], leader: nil)) == .appended(sequence: sequence))
        }
        #expect(cell.perform(.trim(through: 4)) == .badSequence(sequence: 4, last: 3))
        #expect(cell.head()?.trimmedThrough == 0)
        #expect(cell.perform(.trim(through: 2)) == .trimmed(through: 2))
        #expect(cell.perform(.trim(through: 1)) == .trimmed(through: 2))
        #expect(cell.perform(.trim(through: 0)) == .trimmed(through: 2))
        #expect(cell.head()?.trimmedThrough == 2 && cell.head()?.firstAvailable == 3)

        let billing = QueueLayout.positionSortKey(group: "billing")
        #expect(cell.perform(.commit(group: "billing", sequence: 2)) == .committed(sequence: 2))
        let position = try #require(cell.item(billing))
        #expect(QueueLayout.position(position.value) == 2)
        #expect(cell.perform(.commit(group: "billing", sequence: 4)) == .badSequence(sequence: 4, last: 3))
        #expect(cell.item(billing).flatMap { QueueLayout.position($0.value) } == 2)
        #expect(cell.item(QueueLayout.positionSortKey(group: "audit")) == nil)

        #expect(cell.perform(.trim(through: 3)) == .trimmed(through: 3))
        #expect(cell.head()?.trimmedThrough == 3 && cell.head()?.lastSequence == 3)
    }

    @Test func onlyAppendSetLeaderAndTakeLeaseCreateAQueue() {
        var cell = QueueCell()
        let refused: [(QueueOperation, QueueOutcome)] = [
            (.trim(through: 0), .unknownQueue),
            (.commit(group: "billing", sequence: 0), .unknownQueue),
            (.renewLease(holder: "a", milliseconds: 1_000), .unknownQueue),
            // Creating operations that are refused create nothing either.
            (.setLeader("a", expected: "x"), .leaderMismatch(current: nil)),
            (.append(payload: [], leader: "a"), .fenced(current: nil, leaseDeadlineMilliseconds: nil)),
        ]
        for (operation, outcome) in refused {
            #expect(cell.perform(operation, at: 1_000) == outcome, "\(operation)")
        }
        #expect(cell.head() == nil && cell.machine.itemCount == 0)

        let creating: [(QueueOperation, QueueOutcome)] = [
            (.append(payload: [], leader: nil), .appended(sequence: 1)),
            (.setLeader("a", expected: nil), .leaderSet(previous: nil)),
            (.takeLease(holder: "a", milliseconds: 1_000), .leaseGranted(holder: "a", deadlineMilliseconds: 2_000)),
        ]
        for (number, (operation, outcome)) in creating.enumerated() {
            let queue = Array("acme/orders/lnr/q\(number)".utf8)
            #expect(cell.perform(operation, at: 1_000, on: queue) == outcome, "\(operation)")
            #expect(cell.head(of: queue) != nil, "\(operation)")
            #expect(cell.perform(.trim(through: 0), at: 1_000, on: queue) == .trimmed(through: 0), "\(operation)")
        }
    }

    @Test func aRetriedQueueCommandIsAnsweredFromItsSessionAndAppliedOnce() {
        var cell = QueueCell()
        let append = cell.command(.append(payload: Array("once".utf8), leader: nil), at: 1_000)
        #expect(cell.send(append) == .queue(.appended(sequence: 1)))
        #expect(cell.send(append) == .queue(.appended(sequence: 1)))
        #expect(cell.head()?.lastSequence == 1 && cell.item(QueueLayout.stagedSortKey(sequence: 2, chunk: 0)) == nil)
        #expect(cell.machine.session(1)?.results[append.sequence] == .queue(.appended(sequence: 1)))

        // A take is answered as it was, though another client has since renewed the lease.
        let take = cell.command(.takeLease(holder: "a", milliseconds: 1_000), at: 2_000)
        #expect(cell.send(take) == .queue(.leaseGranted(holder: "a", deadlineMilliseconds: 3_000)))
        let renew = CellCommand(
            clientID: 2, sequence: 1, acknowledgedBelow: 1,
            body: .queue(queue: orders, operation: .renewLease(holder: "a", milliseconds: 5_000), nowMilliseconds: 2_500))
        #expect(cell.send(renew) == .queue(.leaseGranted(holder: "a", deadlineMilliseconds: 7_500)))
        #expect(cell.send(take) == .queue(.leaseGranted(holder: "a", deadlineMilliseconds: 3_000)))
        #expect(cell.head()?.leaseDeadlineMilliseconds == 7_500)

        // Once the client moves on (acknowledging below 3), its retries expire and change nothing.
        #expect(cell.perform(.append(payload: [], leader: nil), at: 3_000) == .appended(sequence: 2))
        #expect(cell.send(take) == .expired)
        #expect(cell.send(append) == .expired)
        #expect(cell.head()?.lastSequence == 2 && cell.head()?.leaseDeadlineMilliseconds == 7_500)
    }

    @Test func operationsOutcomesCommandsAndSessionsRoundTrip() throws {
        let operations: [QueueOperation] = [
            .append(payload: [], leader: nil), .append(payload: [0, 1, 255], leader: "a"),
            .setLeader("b", expected: nil), .setLeader("b", expected: "a"),
            .takeLease(holder: "h", milliseconds: 10_000), .renewLease(holder: "h", milliseconds: .max),
            .trim(through: 0), .trim(through: .max), .commit(group: "billing", sequence: 42), .commit(group: "é", sequence: 1),
        ]
        #expect(Set(operations.map { $0.encoded()[0] }) == Set<UInt8>(1...6), "every kind of operation")
        for operation in operations {
            #expect(try QueueOperation(decoding: operation.encoded()) == operation)
        }

        let outcomes: [QueueOutcome] = [
            .appended(sequence: 1), .fenced(current: nil, leaseDeadlineMilliseconds: nil),
            .fenced(current: "b", leaseDeadlineMilliseconds: 22_000), .leaderSet(previous: nil), .leaderSet(previous: "a"),
            .leaderMismatch(current: nil), .leaderMismatch(current: "a"),
            .leaseGranted(holder: "a", deadlineMilliseconds: 11_000), .leaseHeld(holder: "a", deadlineMilliseconds: 11_000),
            .leaseExpired(holder: nil, deadlineMilliseconds: 0), .leaseExpired(holder: "b", deadlineMilliseconds: 21_202),
            .trimmed(through: 2), .committed(sequence: 2), .badSequence(sequence: 4, last: 3), .unknownQueue,
        ]
        #expect(Set(outcomes.map { $0.encoded()[0] }) == Set<UInt8>(1...11), "every kind of outcome")
        for outcome in outcomes {
            #expect(try QueueOutcome(decoding: outcome.encoded()) == outcome)
        }

        // Queue commands round-trip, and every prefix of one is refused.
        for (offset, operation) in operations.enumerated() {
            let command = CellCommand(
                clientID: 9, sequence: UInt64(offset) + 1, acknowledgedBelow: 1,
                body: .queue(queue: orders, operation: operation, nowMilliseconds: 1_234))
            let bytes = command.encoded()
            #expect(try CellCommand(decoding: bytes) == command)
            #expect(command.writes.isEmpty)
            for length in 0..<bytes.count {
                #expect(throws: CellCommand.DecodingError.self) { try CellCommand(decoding: Array(bytes[..<length])) }
            }
        }

        // A session remembering queue outcomes survives a snapshot (client 2 acknowledges nothing).
        var cell = QueueCell()
        let sent: [QueueOperation] = [
            .trim(through: 0), .takeLease(holder: "a", milliseconds: 10_000),
            .append(payload: [], leader: "x"), .renewLease(holder: "b", milliseconds: 1),
        ]
        for (offset, operation) in sent.enumerated() {
            cell.send(CellCommand(
                clientID: 2, sequence: UInt64(offset) + 1, acknowledgedBelow: 0,
                body: .queue(queue: orders, operation: operation, nowMilliseconds: 1_000)))
        }
        let remembered = try #require(cell.machine.session(2))
        #expect(remembered.results.count == 4)
        #expect(remembered.results[1] == .queue(.unknownQueue))
        #expect(remembered.results[3] == .queue(.fenced(current: nil, leaseDeadlineMilliseconds: nil)))
        #expect(remembered.results[4] == .queue(.leaseExpired(holder: "a", deadlineMilliseconds: 11_000)))
        let restored = try CellStateMachine(encoded: cell.machine.encoded())
        #expect(restored.session(2) == remembered)
        #expect(restored.encoded() == cell.machine.encoded())
    }

    @Test func replicasApplyingTheSameEntriesEndEqual() {
        var cell = QueueCell()
        cell.perform(.setLeader("a", expected: nil), at: 1_000)
        cell.perform(.takeLease(holder: "a", milliseconds: 5_000), at: 1_000)
        for n in 0..<5 {
            cell.perform(.append(payload: Array(repeating: UInt8(n), count: n * 100_000), leader: "a"), at: 1_000 + UInt64(n) * 1_000)
        }
        cell.perform(.append(payload: Array("late".utf8), leader: "a"), at: 7_000)
        cell.perform(.trim(through: 2), at: 7_000)
        cell.perform(.commit(group: "billing", sequence: 4), at: 7_000)
        let retried = cell.command(.append(payload: Array("retried".utf8), leader: nil), at: 7_500)
        cell.send(retried)
        cell.send(retried)
        cell.perform(.takeLease(holder: "b", milliseconds: 1_000), at: 8_000, on: Array("acme/orders/lnr/us".utf8))
        let fenced: CellCommandResult? = .queue(.fenced(current: "a", leaseDeadlineMilliseconds: 6_000))
        #expect(cell.results.contains(fenced))
        #expect(cell.head()?.lastSequence == 6)

        var replica = CellStateMachine()
        var results: [CellCommandResult?] = []
        for entry in cell.entries { results.append(replica.apply(entry)?.result) }
        #expect(results == cell.results)
        #expect(replica == cell.machine)
        #expect(replica.encoded() == cell.machine.encoded())
        #expect(replica.appliedIndex == LogIndex(cell.entries.count))
    }
}

/// The queue the tests use.
fileprivate let orders = Array("acme/orders/lnr/eu".utf8)

/// One cell's state machine and one client (id 1) that sends each request with
/// the next sequence, acknowledging everything before it. Every entry and
/// result is kept, to replay on another replica.
private struct QueueCell {
    var machine = CellStateMachine()
    var sequence: UInt64 = 0
    var entries: [LogEntry] = []
    var results: [CellCommandResult?] = []

    /// The client's next request.
    mutating func command(_ operation: QueueOperation, at now: UInt64, on queue: [UInt8] = orders) -> CellCommand {
        sequence += 1
        return CellCommand(
            clientID: 1, sequence: sequence, acknowledgedBelow: sequence,
            body: .queue(queue: queue, operation: operation, nowMilliseconds: now))
    }

    /// Applies `command` as the next log entry.
    @discardableResult
    mutating func send(_ command: CellCommand) -> CellCommandResult? {
        let entry = LogEntry(index: machine.appliedIndex + 1, ballot: Ballot(1), payload: .command(command.encoded()))
        entries.append(entry)
        let result = machine.apply(entry)?.result
        results.append(result)
        return result
    }

    /// Sends `operation` as a new request and returns its outcome.
    @discardableResult
    mutating func perform(_ operation: QueueOperation, at now: UInt64 = 0, on queue: [UInt8] = orders) -> QueueOutcome? {
        guard case .queue(let outcome)? = send(command(operation, at: now, on: queue)) else { return nil }
        return outcome
    }

    func item(_ sortKey: [UInt8], on queue: [UInt8] = orders) -> Item? {
        machine.read(ItemKey(collection: queue, sortKey: sortKey))
    }

    func head(of queue: [UInt8] = orders) -> QueueHead? {
        item(QueueLayout.headSortKey, on: queue).flatMap { try? QueueHead(decoding: $0.value) }
    }

    func items(of queue: [UInt8] = orders) -> [Item] {
        machine.query(collection: queue, from: nil, to: nil, reverse: false, limit: .max, after: nil).items
    }
}
