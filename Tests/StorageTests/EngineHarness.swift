import Keyspace
import Storage

/// Drives a ``StorageEngine`` on a ``SimulatedDisk`` the way the group
/// committer does, synchronously: prepare, then flush (the acknowledgement).
final class EngineHarness {
    let disk: SimulatedDisk
    var options: StorageOptions
    var engine: StorageEngine

    init(disk: SimulatedDisk = SimulatedDisk(), checkpointWALBytes: Int = 64 * 1024 * 1024) throws {
        self.disk = disk
        options = Self.options
        options.checkpointWALBytes = checkpointWALBytes
        engine = try StorageEngine(directory: disk, options: options)
    }

    /// Small zero-fill steps keep the simulated disk's images small.
    static var options: StorageOptions {
        var options = StorageOptions()
        options.walZeroFillBytes = 8 * 1024
        return options
    }

    @discardableResult
    func write(_ writes: [Write]) throws -> BatchOutcome {
        let prepared = try engine.prepare(writes)
        try engine.flush()
        if engine.needsCheckpoint { try engine.checkpoint() }
        return prepared.outcome
    }

    @discardableResult
    func put(_ key: String, _ value: String, _ condition: WriteCondition = .none) throws -> WriteOutcome {
        single(try write([.put(try Key(parsing: key), Array(value.utf8), condition: condition)]))
    }

    @discardableResult
    func delete(_ key: String, _ condition: WriteCondition = .none) throws -> WriteOutcome {
        single(try write([.delete(try Key(parsing: key), condition: condition)]))
    }

    func get(_ key: String) throws -> Item? {
        try engine.get(try Key(parsing: key)).item
    }

    func value(_ key: String) throws -> String? {
        try get(key).map { String(decoding: $0.value, as: UTF8.self) }
    }

    /// Closes cleanly and opens again on the same disk.
    func restart() throws {
        try engine.close()
        engine = try StorageEngine(directory: disk, options: options)
    }

    /// Loses power: unsynced writes fare as `loss` says; then opens again.
    func crashAndReopen(_ loss: SimulatedDisk.CrashLoss = .loseAll) throws {
        disk.crash(loss)
        engine = try StorageEngine(directory: disk, options: options)
    }

    private func single(_ outcome: BatchOutcome) -> WriteOutcome {
        switch outcome {
        case .applied(let versions): .applied(version: versions[0])
        case .conditionFailed(_, let version): .conditionFailed(currentVersion: version)
        }
    }
}

extension WriteOutcome {
    var version: UInt64? {
        if case .applied(let version) = self { return version }
        return nil
    }
}
