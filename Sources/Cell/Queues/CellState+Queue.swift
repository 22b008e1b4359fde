import Storage

extension CellState {
    /// Applies one queue operation. Its work is bounded whatever the queue's
    /// size: trimming moves the head's trim point, and the node removes
    /// trimmed entries and extents on its own, off the log's path.
    mutating func executeQueue(_ operation: QueueOperation, on queue: [UInt8], now: UInt64, version: LogIndex)
        throws(Failure) -> QueueOutcome
    {
        let headKey = ItemKey(collection: queue, sortKey: QueueLayout.headSortKey)
        let stored = try read(headKey)
        guard stored != nil || operation.createsQueue else { return .unknownQueue }
        var head = QueueHead()
        if let stored {
            do { head = try QueueHead(decoding: stored.value) } catch {
                // Only this code writes heads, always decodable: a failure is a bug or a disk fault the page checksums missed.
                preconditionFailure("queue head of \(String(decoding: queue, as: UTF8.self)) does not decode: \(error.reason)")
            }
        }
        // The queue's time never goes back, whichever leader stamped the operation.
        head.clockMilliseconds = max(head.clockMilliseconds, now)
        let time = head.clockMilliseconds
        let outcome: QueueOutcome
        switch operation {
        case .append(let payload, let leader):
            if let leader {
                guard head.leader == leader else { return .fenced(current: head.leader, leaseDeadlineMilliseconds: nil) }
                if head.leaseHolder == leader, time > head.leaseDeadlineMilliseconds {
                    return .fenced(current: leader, leaseDeadlineMilliseconds: head.leaseDeadlineMilliseconds)
                }
            }
            head.lastSequence += 1
            for (chunk, bytes) in QueueLayout.chunks(of: payload).enumerated() {
                let key = ItemKey(collection: queue, sortKey: QueueLayout.stagedSortKey(sequence: head.lastSequence, chunk: chunk))
                try store(key, Item(sortKey: key.sortKey, version: version, value: Array(bytes)))
            }
            outcome = .appended(sequence: head.lastSequence)
        case .setLeader(let leader, let expected):
            if let expected, head.leader != expected { return .leaderMismatch(current: head.leader) }
            outcome = .leaderSet(previous: head.leader)
            head.leader = leader
        case .takeLease(let holder, let milliseconds):
            if let current = head.leaseHolder, current != holder,
                time <= head.leaseDeadlineMilliseconds + head.leaseMarginMilliseconds {
                return .leaseHeld(holder: current, deadlineMilliseconds: head.leaseDeadlineMilliseconds)
            }
            outcome = grantLease(to: holder, for: milliseconds, at: time, &head)
        case .renewLease(let holder, let milliseconds):
            guard head.leaseHolder == holder, time <= head.leaseDeadlineMilliseconds else {
                return .leaseExpired(holder: head.leaseHolder, deadlineMilliseconds: head.leaseDeadlineMilliseconds)
            }
            outcome = grantLease(to: holder, for: milliseconds, at: time, &head)
        case .trim(let through):
            guard through <= head.lastSequence else { return .badSequence(sequence: through, last: head.lastSequence) }
            head.trimmedThrough = max(head.trimmedThrough, through)
            outcome = .trimmed(through: head.trimmedThrough)
        case .commit(let group, let sequence):
            guard sequence <= head.lastSequence else { return .badSequence(sequence: sequence, last: head.lastSequence) }
            let key = ItemKey(collection: queue, sortKey: QueueLayout.positionSortKey(group: group))
            try store(key, Item(sortKey: key.sortKey, version: version, value: QueueLayout.bigEndian(sequence)))
            outcome = .committed(sequence: sequence)
        }
        assert(head.trimmedThrough <= head.lastSequence, "a queue trimmed past its last entry")
        try store(headKey, Item(sortKey: headKey.sortKey, version: version, value: head.encoded()))
        return outcome
    }

    /// The deadline is the leader's clock plus the lease; another holder waits
    /// a margin more, so that a holder whose clock runs slow (within the cells'
    /// drift bound) has stopped before its successor starts.
    private func grantLease(to holder: String, for milliseconds: UInt64, at time: UInt64, _ head: inout QueueHead) -> QueueOutcome {
        head.leaseHolder = holder
        head.leaseDeadlineMilliseconds = time + milliseconds
        let drift = CellOptions().clockDriftMaximum
        head.leaseMarginMilliseconds = UInt64((Double(milliseconds) * 2 * drift).rounded(.up)) + 1
        return .leaseGranted(holder: holder, deadlineMilliseconds: head.leaseDeadlineMilliseconds)
    }
}

extension QueueLayout {
    /// A consumer group's position as stored.
    public static func position(_ value: [UInt8]) -> UInt64? {
        value.count == 8 ? sequence(in: value, at: 0) : nil
    }
}
