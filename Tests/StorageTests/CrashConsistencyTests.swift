import Keyspace
import Storage
import TestSupport
import Testing

/// Exhaustive in small scope: a fixed workload is cut by a power loss at every
/// disk operation in turn (each write, each sync, each file removal), and the
/// unsynced writes are lost, kept, torn or kept in part. After recovery, every
/// acknowledged write is there and nothing unacknowledged is half there: the
/// state equals the model after the acknowledged writes, or after one more.
@Suite(.cpuBound)
struct CrashConsistencyTests {
    static let primaryKeys = ["k0", "k1", "k2", "k3", "big"]

    /// Three dozen writes of every kind, with a small checkpoint threshold so
    /// that several checkpoints (and WAL segment switches) happen in between.
    static func workload() throws -> [[Write]] {
        func key(_ primary: String, _ sort: String = "") throws -> Key {
            try Key(account: "acme", resource: "crash", type: .rnd, primaryKey: primary, sortKey: sort)
        }
        var writes: [[Write]] = []
        for index in 0..<36 {
            let primary = primaryKeys[index % 4]
            let value = Array("value-\(index)-".utf8) + [UInt8](repeating: UInt8(index), count: index * 7)
            switch index % 6 {
            case 0, 1: writes.append([.put(try key(primary, "s\(index % 3)"), value)])
            case 2: writes.append([.delete(try key(primary, "s\(index % 3)"))])
            case 3: writes.append([.put(try key(primary, "s1"), value, condition: .exists)])
            case 4: writes.append([.put(try key(primary, "s\(index)"), value), .put(try key(primaryKeys[(index + 1) % 4]), value)])
            default: writes.append([.put(try key("big"), [UInt8](repeating: UInt8(index), count: 9_000 + index))])
            }
        }
        return writes
    }

    struct Run {
        var acknowledged = 0
        var states: [ReferenceModel] = [ReferenceModel()]
    }

    /// Runs the workload until the disk "loses power"; returns how many writes were acknowledged.
    static func run(_ workload: [[Write]], on disk: SimulatedDisk) -> Int {
        var acknowledged = 0
        do {
            let harness = try EngineHarness(disk: disk, checkpointWALBytes: 3 * 1024)
            for batch in workload {
                _ = try harness.write(batch)
                acknowledged += 1
            }
            try harness.engine.close()
        } catch StorageError.simulatedCrash {
        } catch {
            Issue.record("unexpected error before the crash: \(error)")
        }
        return acknowledged
    }

    @Test func everyCrashPointRecoversEveryAcknowledgedWrite() throws {
        let workload = try Self.workload()
        var models = [ReferenceModel()]
        for batch in workload {
            var next = models.last!
            _ = next.apply(batch)
            models.append(next)
        }
        let clean = SimulatedDisk()
        #expect(Self.run(workload, on: clean) == workload.count)
        let operations = clean.operationCount
        #expect(operations > 100)

        var random = SplitMix64(seed: 99)
        var schedules = 0
        for crashAt in 1...operations {
            let losses: [SimulatedDisk.CrashLoss] = [
                .loseAll, .keepAll, .tearLast(keepingBytes: 7), .tearLast(keepingBytes: 4_100),
                .subset(mask: random.next()), .subset(mask: random.next()),
            ]
            for loss in losses {
                let disk = SimulatedDisk()
                disk.crashAtOperation = crashAt
                let acknowledged = Self.run(workload, on: disk)
                disk.crash(loss)
                schedules += 1
                let recovered: StorageEngine
                do {
                    recovered = try StorageEngine(directory: disk, options: EngineHarness.options)
                    try recovered.verifyCheckpointInvariants()
                } catch {
                    Issue.record("crash at operation \(crashAt) with \(loss): recovery failed: \(error)")
                    continue
                }
                let candidates = models[acknowledged...min(acknowledged + 1, workload.count)]
                let matched = try candidates.contains {
                    try $0.matches(recovered, account: "acme", resource: "crash", primaryKeys: Self.primaryKeys)
                }
                #expect(matched, "crash at operation \(crashAt) with \(loss): \(acknowledged) acknowledged, state matches neither model")
                // The recovered store takes writes and survives a clean restart.
                _ = try recovered.prepare([.put(try Key(parsing: "acme/crash/rnd/after"), [1])])
                try recovered.flush()
                try recovered.close()
                let reopened = try StorageEngine(directory: disk, options: EngineHarness.options)
                try reopened.verifyCheckpointInvariants()
                #expect(try reopened.get(try Key(parsing: "acme/crash/rnd/after")).item?.value == [1])
            }
        }
        print("crash consistency: \(operations) crash points × 6 loss patterns = \(schedules) schedules explored")
        #expect(schedules == operations * 6)
    }
}
