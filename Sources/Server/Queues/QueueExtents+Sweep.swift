import Cell
import Dispatch
import CellHost
import Keyspace
import Storage

/// Trimming frees disk: once a queue's trim point passes them, its staged
/// items and whole extents go (the cell moved only the trim point). Extents a
/// leader's snapshot replaced go too.
extension QueueExtents {
    /// Staged items removed per step.
    static let sweepStepItems = 1_000

    func sweep(_ queue: [UInt8]) {
        guard !stopped(), let noted = activity.withLock({ $0[queue] }) else { return }
        do {
            let items = QueueItems(store: store)
            let trimmedThrough = max(noted.trimmedThrough, try items.queueHead(queue)?.trimmedThrough ?? 0)
            guard trimmedThrough > 0 else { return }
            let version = try items.item(queue, QueueLayout.headSortKey)?.version ?? 0
            let pointer = Pointer(hashing: queue)
            // Staged entries through the trim point.
            let staged = QueueLayout.stagedRange(from: 0, through: trimmedThrough)
            var more = true
            while more, !stopped() {
                let page = try store.readNow {
                    try $0.query(pointer: pointer, QueryRange(from: staged.from, to: staged.to, limit: Self.sweepStepItems))
                }
                guard !page.items.isEmpty else { break }
                submit(noted.cell, page.items.map { ItemUpdate(collection: queue, sortKey: $0.sortKey, value: nil, version: version) }) {}
                more = page.continuation != nil
                // The deletes go through the shard: wait for them before reading the next page.
                if more { try waitForShard(noted.cell) }
            }
            // Whole extents through the trim point.
            let extents = try store.readNow {
                try $0.query(pointer: pointer, QueryRange(from: QueueLayout.extentSortKey(firstSequence: 0),
                                                          to: QueueLayout.extentSortKey(firstSequence: trimmedThrough),
                                                          limit: 10_000))
            }
            for item in extents.items {
                guard let extent = ExtentIndexEntry(sortKey: item.sortKey, value: item.value),
                    extent.lastSequence <= trimmedThrough else { continue }
                let record = ExtentRegistry.Record(extentID: extent.extentID, queue: queue,
                                                   firstSequence: extent.firstSequence, lastSequence: extent.lastSequence)
                let updates = [ItemUpdate(collection: queue, sortKey: item.sortKey, value: nil, version: version),
                               ExtentRegistry.update(record, version: version, remove: true)]
                removeAfter(noted.cell, updates, extent.extentID)
            }
            activity.withLock { activity in
                guard var entry = activity[queue] else { return }
                entry.sweptThrough = max(entry.sweptThrough, trimmedThrough)
                activity[queue] = entry
            }
        } catch {
            logger.error("removing a queue's trimmed entries failed; they stay until its next trim", metadata: [
                "queue": "\(String(decoding: queue, as: UTF8.self))", "error": "\(error)"])
        }
    }

    /// Extents the node lists whose queue no longer indexes them (a leader's snapshot replaced the queue's items).
    func sweepReplaced() {
        var stale: [(ExtentRegistry.Record, UInt64)] = []
        do {
            let items = QueueItems(store: store)
            try ExtentRegistry.forEach(in: store) { record in
                let indexed = try items.item(record.queue, QueueLayout.extentSortKey(firstSequence: record.firstSequence))
                    .flatMap { ExtentIndexEntry(sortKey: $0.sortKey, value: $0.value) }
                if indexed?.extentID != record.extentID { stale.append((record, 0)) }
            }
        } catch {
            logger.error("checking the extent list failed", metadata: ["error": "\(error)"])
            return
        }
        for (record, version) in stale {
            let cell = cellOf(record.queue)
            removeAfter(cell, [ExtentRegistry.update(record, version: version, remove: true)], record.extentID)
        }
    }

    /// Drops the listing, then the file once the drop is handed to the store.
    private func removeAfter(_ cell: UInt64, _ updates: [ItemUpdate], _ extentID: UInt64) {
        submit(cell, updates) { [self] in
            thread.async { [self] in
                forget(extentID)
                do { try directory.remove(extentID) } catch {
                    logger.error("removing an extent file failed", metadata: ["extent": "\(extentID)", "error": "\(error)"])
                }
            }
        }
    }

    /// Waits until the cell's shard has taken what was submitted before.
    private func waitForShard(_ cell: UInt64) throws {
        let done = DispatchSemaphore(value: 0)
        submit(cell, []) { done.signal() }
        _ = done.wait(timeout: .now() + 30)
    }
}
