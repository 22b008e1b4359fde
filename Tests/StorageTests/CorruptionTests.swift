import Keyspace
import Storage
import TestSupport
import Testing

/// Flipped bits in the WAL or the page file are reported as corruption naming
/// the file and place, and never come back as data.
@Suite(.cpuBound)
struct CorruptionTests {
    static let keys = (0..<40).map { "acme/corrupt/rnd/key\($0)" }

    /// A store with a checkpoint holding the first half of the keys and the WAL the rest.
    static func populatedDisk() throws -> (SimulatedDisk, [String: String]) {
        let disk = SimulatedDisk()
        let store = try EngineHarness(disk: disk)
        var expected: [String: String] = [:]
        for (index, key) in keys.enumerated() {
            let value = "value-\(index)-" + String(repeating: "x", count: index * 13)
            try store.put(key, value)
            expected[key] = value
            if index == keys.count / 2 { try store.engine.checkpoint() }
        }
        return (disk, expected)
    }

    static func walName(_ disk: SimulatedDisk) throws -> String {
        try disk.fileNames().first { $0.hasPrefix("wal-") }!
    }

    @Test func aFlippedBitInTheWALIsReportedWithFileAndOffset() throws {
        let (disk, _) = try Self.populatedDisk()
        let wal = try Self.walName(disk)
        disk.flipBit(in: wal, byteOffset: 40, bit: 3)
        #expect {
            _ = try StorageEngine(directory: disk, options: EngineHarness.options)
        } throws: { error in
            guard case StorageError.corruption(let file, let location, _) = error else { return false }
            return file == wal && location.hasPrefix("offset")
        }
    }

    @Test func aFlippedBitInTheLastWALRecordIsCorruptionNotATornTail() throws {
        let (disk, _) = try Self.populatedDisk()
        let wal = try Self.walName(disk)
        // The records end where the zero-filled space ahead of them starts.
        let file = try disk.openFile(wal)
        let bytes = try file.read(at: 0, count: try file.size())
        let recordsEnd = try #require(bytes.lastIndex { $0 != 0 }) + 1
        disk.flipBit(in: wal, byteOffset: recordsEnd - 30, bit: 0)
        #expect(throws: StorageError.self) { _ = try StorageEngine(directory: disk, options: EngineHarness.options) }
    }

    @Test func aTornTailIsCutAndReported() throws {
        let disk = SimulatedDisk()
        let store = try EngineHarness(disk: disk)
        try store.put("acme/corrupt/rnd/kept", "durable")
        // A write that never finished: prepared and written, never synced, torn by the crash.
        _ = try store.engine.prepare([.put(try Key(parsing: "acme/corrupt/rnd/torn"), [UInt8](repeating: 7, count: 3_000))])
        disk.crashAtOperation = disk.operationCount + 2  // the WAL write happens, its sync does not
        #expect(throws: StorageError.simulatedCrash) { try store.engine.flush() }
        try store.crashAndReopen(.tearLast(keepingBytes: 1_000))
        #expect(try store.value("acme/corrupt/rnd/kept") == "durable")
        #expect(try store.get("acme/corrupt/rnd/torn") == nil)
        #expect(store.engine.recoveryReport.discardedTail?.contains("wal-") == true)
    }

    @Test func aFlippedBitInACollectionPageFailsThatReadOnly() throws {
        let (disk, expected) = try Self.populatedDisk()
        // Page 2 onwards hold the checkpoint's collections, buckets and directory.
        var failures = 0
        for page in 2..<(disk.fileSize("pages.db")! / 4096) {
            let copy = try Self.copy(disk)
            copy.flipBit(in: "pages.db", byteOffset: page * 4096 + 100, bit: 5)
            do {
                let engine = try StorageEngine(directory: copy, options: EngineHarness.options)
                for (key, value) in expected {
                    do {
                        let item = try engine.get(try Key(parsing: key)).item
                        #expect(item.map { String(decoding: $0.value, as: UTF8.self) } == value, "page \(page): \(key) came back wrong")
                    } catch let StorageError.corruption(file, location, _) {
                        #expect(file == "pages.db" && location.hasPrefix("page"))
                        failures += 1
                    }
                }
            } catch let StorageError.corruption(file, _, _) {
                #expect(file == "pages.db")
                failures += 1
            }
        }
        #expect(failures > 0)
    }

    /// Every 11th byte of every file, one at a time: each flip is either reported
    /// as corruption or harmless; no read ever returns a value that was not written.
    @Test func noFlippedBitEverReturnsWrongData() throws {
        let (disk, expected) = try Self.populatedDisk()
        var reported = 0
        var harmless = 0
        for name in try disk.fileNames() where name != "LOCK" {
            for offset in stride(from: 0, to: disk.fileSize(name)!, by: 11) {
                let copy = try Self.copy(disk)
                copy.flipBit(in: name, byteOffset: offset, bit: offset % 8)
                var sawCorruption = false
                do {
                    let engine = try StorageEngine(directory: copy, options: EngineHarness.options)
                    for (key, value) in expected {
                        do {
                            let item = try engine.get(try Key(parsing: key)).item
                            #expect(item.map { String(decoding: $0.value, as: UTF8.self) } == value,
                                    "\(name) byte \(offset): \(key) came back wrong")
                        } catch StorageError.corruption {
                            sawCorruption = true
                        }
                    }
                } catch StorageError.corruption {
                    sawCorruption = true
                }
                if sawCorruption { reported += 1 } else { harmless += 1 }
            }
        }
        print("bit flips: \(reported) reported as corruption, \(harmless) harmless (unused bytes)")
        #expect(reported > 0)
    }

    /// A copy of the disk's durable state (flips must not leak between cases).
    static func copy(_ disk: SimulatedDisk) throws -> SimulatedDisk {
        let copy = SimulatedDisk()
        for name in try disk.fileNames() {
            let source = try disk.openFile(name)
            let target = try copy.openFile(name)
            try target.write(try source.read(at: 0, count: try source.size()), at: 0)
            try target.sync()
        }
        return copy
    }
}
