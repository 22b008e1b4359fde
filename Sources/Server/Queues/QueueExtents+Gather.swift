import Cell
import CellHost
import Keyspace
import Storage

/// Gathering: on the lnr thread, a queue's staged entries become one extent,
/// then its cell's shard swaps the staged items for the extent's index entry
/// in one page-store record.
extension QueueExtents {
    /// Entries read from the page store per step while writing an extent.
    static let gatherStepBytes = 4 << 20

    func gather(_ queue: [UInt8]) {
        guard !stopped(), let noted = activity.withLock({ $0[queue] }) else { return }
        do {
            let items = QueueItems(store: store)
            guard let head = try items.queueHead(queue) else { return }
            let gatheredThrough = try noted.gatheredThrough ?? items.extent(queue, startingAtOrBefore: .max)?.lastSequence ?? 0
            let first = max(gatheredThrough, head.trimmedThrough) + 1
            guard first <= head.lastSequence else { return markGathered(queue, through: head.lastSequence, stagedBytes: 0) }
            let id = try directory.nextExtentID()
            let writer = try directory.makeWriter(extentID: id, queueTag: Self.tag(queue), firstSeq: first)
            var next = first
            var stagedKeys: [[UInt8]] = []
            var bytes = 0
            writing: while next <= head.lastSequence {
                let step = try items.stagedEntries(queue, from: next, through: head.lastSequence, countMaximum: 10_000,
                                                   bytesMaximum: Self.gatherStepBytes)
                guard !step.isEmpty else { break }
                for entry in step {
                    guard writer.canAppend(payloadBytes: entry.payload.count) else { break writing }
                    try writer.append(seq: entry.sequence, payload: entry.payload)
                    for chunk in 0..<QueueLayout.chunkCount(payloadBytes: entry.payload.count) {
                        stagedKeys.append(QueueLayout.stagedSortKey(sequence: entry.sequence, chunk: chunk))
                    }
                    bytes += entry.payload.count
                    next = entry.sequence + 1
                }
            }
            guard writer.count > 0 else {
                writer.abandon()
                return
            }
            let summary = try writer.finish()
            let index = ExtentIndexEntry(extentID: id, firstSequence: summary.firstSeq, lastSequence: summary.lastSeq)
            let version = try versionOf(queue, items)
            var updates = stagedKeys.map { ItemUpdate(collection: queue, sortKey: $0, value: nil, version: version) }
            updates.append(ItemUpdate(collection: queue, sortKey: QueueLayout.extentSortKey(firstSequence: index.firstSequence),
                                      value: index.encodedValue(), version: version))
            updates.append(ExtentRegistry.update(.init(extentID: id, queue: queue, firstSequence: index.firstSequence,
                                                       lastSequence: index.lastSequence), version: version))
            submit(noted.cell, updates) {}
            markGathered(queue, through: summary.lastSeq, stagedBytes: bytes)
            // More staged than one extent holds: go on.
            if next <= head.lastSequence { thread.async { [self] in gather(queue) } }
        } catch {
            logger.error("gathering a queue's entries into an extent failed; they stay staged", metadata: [
                "queue": "\(String(decoding: queue, as: UTF8.self))", "error": "\(error)"])
        }
    }

    /// The version the swap's items carry: the head's (at most the cell's applied index, as a snapshot requires).
    private func versionOf(_ queue: [UInt8], _ items: QueueItems) throws -> UInt64 {
        try items.item(queue, QueueLayout.headSortKey)?.version ?? 0
    }

    private func markGathered(_ queue: [UInt8], through: UInt64, stagedBytes: Int) {
        activity.withLock { activity in
            guard var entry = activity[queue] else { return }
            entry.gatheredThrough = through
            entry.stagedBytes = max(0, entry.stagedBytes - stagedBytes)
            if stagedBytes == 0 { entry.stagedBytes = 0 }
            entry.since = Self.seconds()
            activity[queue] = entry
        }
    }

    func submit(_ cell: UInt64, _ updates: [ItemUpdate], then: @escaping @Sendable () -> Void) {
        guard let commit = commit.withLock({ $0 }) else { return }
        commit(cell, updates, then)
    }

    func stopped() -> Bool { stopFlag.load(ordering: .relaxed) }

    /// Which queue an extent holds, in its header: the first 16 bytes of the queue's pointer.
    static func tag(_ queue: [UInt8]) -> [UInt8] { Array(Pointer(hashing: queue).bytes.prefix(ExtentFormat.queueTagBytes)) }
}
