import Cell
import CellHost
import Storage
import Wire

/// Queues on a shard: reads of entries, heads and positions from the page
/// store and the node's extents; applied appends and trims told to the lnr
/// store; its local writes taken between applies.
extension Shard {
    func answerQueueRead(_ read: CellRead, from hosted: ShardCell) throws -> ClientResponse.Body? {
        let items = hosted.stateMachine.queueItems
        switch read {
        case .queueEntries(let queue, let name, let from, let maximum):
            guard let head = try items.queueHead(queue) else { return Self.unknownQueue(name) }
            let start = from ?? head.firstAvailable
            if start <= head.trimmedThrough {
                return .error(.trimmed, "queue \(name) is trimmed through \(head.trimmedThrough): entry \(start) is gone; the first entry still readable is \(head.firstAvailable)")
            }
            let extents = services.extents
            let entries = try items.queueEntries(queue, head: head, from: start, countMaximum: maximum,
                                                 bytesMaximum: QueueLimits.readBytesMaximum) { extent, from, count, bytes in
                try extents.entries(extent, from: from, countMaximum: count, bytesMaximum: bytes)
            }
            return .queueEntries(WireQueueEntries(entries: entries.map { ($0.sequence, $0.payload) },
                                                  firstAvailable: head.firstAvailable, lastSequence: head.lastSequence))
        case .queueStatus(let queue, let name):
            guard let head = try items.queueHead(queue) else { return Self.unknownQueue(name) }
            return .queueStatus(WireQueueStatus(head))
        case .queuePosition(let queue, let name, let group):
            guard try items.queueHead(queue) != nil else { return Self.unknownQueue(name) }
            return .queuePosition(try items.queuePosition(queue, group: group))
        case .get, .query:
            return nil
        }
    }

    static func unknownQueue(_ name: String) -> ClientResponse.Body {
        .error(.notFound, "queue \(name) does not exist: nothing was ever appended to it, and it has no leader or lease")
    }

    /// Tells the lnr store what an applied queue operation staged or trimmed.
    func noteQueueOutcome(_ command: CellCommand, _ result: CellCommandResult, cell: UInt64) {
        guard case .queue(let queue, let operation, _) = command.body, case .queue(let outcome) = result else { return }
        switch (operation, outcome) {
        case (.append(let payload, _), .appended):
            services.extents.noteAppend(queue, cell: cell, bytes: payload.count)
        case (.trim, .trimmed(let through)):
            services.extents.noteTrim(queue, cell: cell, through: through)
        default:
            break
        }
    }

    /// The lnr store's writes about one of this shard's cells.
    func commitLocal(_ updates: [ItemUpdate], cell: UInt64) {
        guard !updates.isEmpty, !pipeline.halted else { return }
        if let hosted = cells[cell] {
            pipeline.commitLocal(updates, of: hosted)
        } else {
            // Not loaded since the start: no snapshot of it is being written.
            services.store.commitGroup(updates: updates, logChanges: [], lazy: true) { _ in }
        }
    }
}
