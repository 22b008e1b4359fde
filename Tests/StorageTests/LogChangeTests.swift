import Keyspace
import Storage
import TestSupport
import Testing

/// An independent model of replicated logs: entries by index, a base, state bytes.
struct LogModel: Equatable {
    var base: UInt64 = 0
    var entries: [UInt64: [UInt8]] = [:]
    var state: [UInt8]?

    mutating func apply(_ change: LogChange) {
        switch change.truncation {
        case .none: break
        case .compact(let through):
            if through > base {
                entries = entries.filter { $0.key > through }
                base = through
            }
        case .reset(let after):
            entries = [:]
            base = after
        }
        if let first = change.entries.first?.index {
            entries = entries.filter { $0.key < first }
            for entry in change.entries { entries[entry.index] = entry.header + [0xff] + entry.body }
        }
        if let state = change.state { self.state = state }
    }

    init() {}

    init(_ stored: StoredLog) {
        base = stored.base
        for entry in stored.entries { entries[entry.index] = entry.header + [0xff] + entry.body }
        state = stored.state
    }

    static func of(_ engine: StorageEngine) -> [UInt64: LogModel] {
        engine.logs.mapValues(LogModel.init).filter { $0.value != LogModel() }
    }
}

func logEntries(_ first: UInt64, _ count: Int, tag: UInt8 = 0) -> [StoredLogEntry] {
    (0..<UInt64(count)).map { offset in
        StoredLogEntry(index: first + offset, header: [tag, UInt8(truncatingIfNeeded: first + offset)],
                       body: [UInt8](repeating: tag &+ UInt8(truncatingIfNeeded: offset), count: Int(offset % 5) * 300))
    }
}

@Suite struct LogChangeTests {
    @Test func logsReplayAfterARestartAndACrash() throws {
        let harness = try EngineHarness()
        let changes = [
            LogChange(log: 7, entries: logEntries(1, 5), state: [1]),
            LogChange(log: 9, entries: logEntries(1, 2, tag: 9)),
            LogChange(log: 7, entries: logEntries(4, 3, tag: 2)),  // replaces 4 and 5, adds 6
            LogChange(log: 7, truncation: .compact(through: 3), state: [2]),
            LogChange(log: 9, truncation: .reset(after: 40), entries: logEntries(41, 1)),
        ]
        var model: [UInt64: LogModel] = [:]
        for change in changes {
            _ = try harness.engine.prepareGroup(updates: [], logChanges: [change])
            model[change.log, default: LogModel()].apply(change)
        }
        try harness.engine.flush()
        #expect(LogModel.of(harness.engine) == model)
        #expect(harness.engine.logs[7]?.entries.map(\.index) == [4, 5, 6])
        #expect(harness.engine.logs[9]?.base == 40)
        try harness.crashAndReopen(.loseAll)
        #expect(LogModel.of(harness.engine) == model)
        try harness.restart()
        #expect(LogModel.of(harness.engine) == model)
    }

    @Test func aChangeThatWouldLeaveAGapIsRefusedAndChangesNothing() throws {
        let harness = try EngineHarness()
        _ = try harness.engine.prepareGroup(updates: [], logChanges: [LogChange(log: 1, entries: logEntries(1, 3))])
        let before = harness.engine.logs
        let key = try Key(parsing: "acme/logs/rnd/x")
        #expect(throws: StorageError.self) {
            try harness.engine.prepareGroup(
                updates: [ItemUpdate(collection: key.canonicalCollectionBytes, sortKey: [], value: [1], version: 1)],
                logChanges: [LogChange(log: 2, entries: logEntries(1, 1)), LogChange(log: 1, entries: logEntries(5, 1))])
        }
        #expect(throws: StorageError.self) {
            try harness.engine.prepareGroup(updates: [], logChanges: [LogChange(log: 1, truncation: .compact(through: 2), entries: logEntries(2, 1))])
        }
        #expect(harness.engine.logs == before)
        #expect(try harness.engine.get(key).item == nil)
    }

    /// Logs live only in the WAL: each checkpoint carries them into its new
    /// segment, so older segments go and the logs stay whole.
    @Test func logsSurviveCheckpointsThatRemoveOldSegments() throws {
        let harness = try EngineHarness(checkpointWALBytes: 16 * 1024)
        var model: [UInt64: LogModel] = [:]
        var next: [UInt64: UInt64] = [:]
        for round in 0..<200 {
            let log = UInt64(round % 3)
            let first = next[log, default: 1]
            var change = LogChange(log: log, entries: logEntries(first, 2, tag: UInt8(round & 0xff)), state: [UInt8(round & 0xff)])
            if round % 10 == 9 { change.truncation = .compact(through: first - 1) }
            next[log] = first + 2
            let key = try Key(parsing: "acme/logs/rnd/k\(round % 7)")
            let update = ItemUpdate(collection: key.canonicalCollectionBytes, sortKey: [], value: [UInt8](repeating: 1, count: 500),
                                    version: UInt64(round))
            _ = try harness.engine.prepareGroup(updates: [update], logChanges: [change])
            model[log, default: LogModel()].apply(change)
            try harness.engine.flush()
            if harness.engine.needsCheckpoint { try harness.engine.checkpoint() }
        }
        #expect(harness.engine.statistics.checkpointGeneration > 5)
        let segments = try harness.disk.fileNames().filter { $0.hasPrefix("wal-") }
        #expect(segments.count == 1, "segments left: \(segments)")
        #expect(LogModel.of(harness.engine) == model)
        try harness.crashAndReopen(.loseAll)
        #expect(LogModel.of(harness.engine) == model)
        try harness.engine.verifyCheckpointInvariants()
    }
}

/// Exhaustive in small scope, like ``CrashConsistencyTests``: groups of item
/// writes and log changes, cut by a power loss at every disk operation. After
/// recovery the logs equal the model after the acknowledged groups, or after
/// one more: never a gap, never a change in part.
@Suite(.cpuBound)
struct LogCrashConsistencyTests {
    static func workload() throws -> [(writes: [ItemUpdate], changes: [LogChange])] {
        var groups: [(writes: [ItemUpdate], changes: [LogChange])] = []
        var next: [UInt64: UInt64] = [:]
        for round in 0..<30 {
            var changes: [LogChange] = []
            for log in UInt64(0)..<UInt64(1 + round % 3) {
                let first = next[log, default: 1]
                var change = LogChange(log: log, state: [UInt8(round)])
                switch round % 5 {
                case 3: change.truncation = .compact(through: max(first, 3) - 2)
                case 4 where log == 1:
                    change.truncation = .reset(after: first + 10)
                    change.entries = logEntries(first + 11, 1, tag: UInt8(round))
                    next[log] = first + 12
                    changes.append(change)
                    continue
                default: break
                }
                // Every third round rewrites the last entry: a conflicting suffix replaces it.
                let start = round % 3 == 2 && first > 1 && change.truncation == .none ? first - 1 : first
                change.entries = logEntries(start, 2, tag: UInt8(round))
                next[log] = start + 2
                changes.append(change)
            }
            let key = try Key(parsing: "acme/logs/rnd/k\(round % 4)")
            let writes: [ItemUpdate] = round % 2 == 0
                ? [ItemUpdate(collection: key.canonicalCollectionBytes, sortKey: [], value: [UInt8](repeating: UInt8(round), count: 700),
                              version: UInt64(round))]
                : []
            groups.append((writes, changes))
        }
        return groups
    }

    static func run(_ workload: [(writes: [ItemUpdate], changes: [LogChange])], on disk: SimulatedDisk) -> Int {
        var acknowledged = 0
        do {
            let harness = try EngineHarness(disk: disk, checkpointWALBytes: 6 * 1024)
            for group in workload {
                _ = try harness.engine.prepareGroup(updates: group.writes, logChanges: group.changes)
                try harness.engine.flush()
                acknowledged += 1
                if harness.engine.needsCheckpoint { try harness.engine.checkpoint() }
            }
            try harness.engine.close()
        } catch StorageError.simulatedCrash {
        } catch {
            Issue.record("unexpected error before the crash: \(error)")
        }
        return acknowledged
    }

    @Test func everyCrashPointRecoversLogsClosedUnderPrefix() throws {
        let workload = try Self.workload()
        var models: [[UInt64: LogModel]] = [[:]]
        for group in workload {
            var next = models.last!
            for change in group.changes { next[change.log, default: LogModel()].apply(change) }
            models.append(next.filter { $0.value != LogModel() })
        }
        let clean = SimulatedDisk()
        #expect(Self.run(workload, on: clean) == workload.count)
        let operations = clean.operationCount
        #expect(operations > 60)
        // Checkpoints happened in between, so crashes land inside their carry-over too.
        #expect(try StorageEngine(directory: clean, options: EngineHarness.options).statistics.checkpointGeneration > 3)
        var random = SplitMix64(seed: 13)
        for crashAt in 1...operations {
            for loss in [SimulatedDisk.CrashLoss.loseAll, .keepAll, .tearLast(keepingBytes: 9), .subset(mask: random.next())] {
                let disk = SimulatedDisk()
                disk.crashAtOperation = crashAt
                let acknowledged = Self.run(workload, on: disk)
                disk.crash(loss)
                let recovered: StorageEngine
                do {
                    recovered = try StorageEngine(directory: disk, options: EngineHarness.options)
                    try recovered.verifyCheckpointInvariants()
                } catch {
                    Issue.record("crash at operation \(crashAt) with \(loss): recovery failed: \(error)")
                    continue
                }
                let logs = LogModel.of(recovered)
                let candidates = models[acknowledged...min(acknowledged + 1, workload.count)]
                #expect(candidates.contains(logs),
                        "crash at operation \(crashAt) with \(loss): \(acknowledged) acknowledged; logs match neither model")
            }
        }
        print("log crash consistency: \(operations) crash points × 4 loss patterns explored")
    }
}
