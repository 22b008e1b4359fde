import Foundation
import Storage
import TestSupport
import Testing

/// Queue extents: what is written comes back page by page, limits are refused,
/// and every damaged byte is reported as corruption, never returned as data.
@Suite(.cpuBound)
struct ExtentTests {
    static let tag: [UInt8] = Array(1...16)

    static func withTemporaryFolder(_ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-extents-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    static func randomBytes(_ count: Int, _ random: inout SplitMix64) -> [UInt8] {
        let words = (0..<(count + 7) / 8).map { _ in random.next() }
        return words.withUnsafeBytes { Array($0.prefix(count)) }
    }

    /// Seeded payloads of 0 to `maximum` bytes each.
    static func randomPayloads(count: Int, maximum: Int, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in randomBytes(random.int(0...maximum), &random) }
    }

    @discardableResult
    static func write(_ payloads: [[UInt8]], to directory: StorageDirectory, id: UInt64, firstSeq: UInt64) throws -> ExtentSummary {
        let writer = try ExtentWriter(directory: directory, extentID: id, queueTag: tag, firstSeq: firstSeq)
        for (index, payload) in payloads.enumerated() { try writer.append(seq: firstSeq + UInt64(index), payload: payload) }
        let payloadBytes = payloads.reduce(0) { $0 + $1.count }
        #expect(writer.count == payloads.count && writer.payloadBytes == payloadBytes)
        return try writer.finish()
    }

    /// Pages from `start` to the end: each page within its limits yet as full as they allow.
    static func readPages(_ reader: ExtentReader, from start: UInt64, _ expected: [[UInt8]], count: Int, bytes: Int) throws {
        var seq = start
        while seq <= reader.lastSeq {
            let page = try reader.entries(from: seq, countMaximum: count, bytesMaximum: bytes)
            try #require(!page.isEmpty)
            let pageBytes = page.reduce(0) { $0 + $1.payload.count }
            #expect(page.count <= count && (page.count == 1 || pageBytes <= bytes))
            for entry in page {
                #expect(entry.seq == seq && entry.payload == expected[Int(seq - reader.firstSeq)])
                seq += 1
            }
            if seq <= reader.lastSeq && page.count < count {
                #expect(pageBytes + expected[Int(seq - reader.firstSeq)].count > bytes, "page before seq \(seq) stopped early")
            }
        }
    }

    @Test(arguments: [false, true]) func randomEntriesRoundTrip(onRealFiles: Bool) throws {
        try Self.withTemporaryFolder { path in
            let directory: StorageDirectory = try onRealFiles ? POSIXDirectory(path: path) : SimulatedDisk()
            defer { directory.close() }
            let payloads = Self.randomPayloads(count: 1_000, maximum: 20 * 1024, seed: 0xE7E47)
            let first: UInt64 = 5_000
            let summary = try Self.write(payloads, to: directory, id: 3, firstSeq: first)
            let fixedBytes = ExtentFormat.headerBytes + 1_000 * 8 + ExtentFormat.footerBytes
            let fileBytes = payloads.reduce(fixedBytes) { $0 + ExtentFormat.recordHeaderBytes + $1.count }
            #expect(summary == ExtentSummary(extentID: 3, firstSeq: first, lastSeq: first + 999, count: 1_000, fileBytes: fileBytes))
            let reader = try ExtentReader(directory: directory, extentID: 3)
            defer { reader.close() }
            #expect(reader.queueTag == Self.tag && reader.firstSeq == first && reader.lastSeq == first + 999 && reader.count == 1_000)
            for start in [first, first + 1, first + 333, first + 998, first + 999] {
                try Self.readPages(reader, from: start, payloads, count: 50, bytes: 64 * 1024)
            }
            try Self.readPages(reader, from: first + 10, payloads, count: 1_000, bytes: Int.max)
            try reader.verifyAll()
        }
    }

    @Test func theLargestAndEmptyPayloadsRoundTripAndAPageAlwaysHoldsOne() throws {
        let disk = SimulatedDisk()
        let largest = (0..<ExtentFormat.entryBytesMaximum).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        let payloads: [[UInt8]] = [[], largest, [], [42], largest]
        try Self.write(payloads, to: disk, id: 7, firstSeq: 1)
        let reader = try ExtentReader(directory: disk, extentID: 7)
        for bytes in [0, 1, 2 << 20] { try Self.readPages(reader, from: 1, payloads, count: 10, bytes: bytes) }
        try reader.verifyAll()
    }

    @Test func oversizedEntriesAndExtentsAreRefused() throws {
        try Self.withTemporaryFolder { path in
            let extents = try ExtentDirectory.open(path: path)
            defer { extents.close() }
            let writer = try extents.makeWriter(extentID: 1, queueTag: Self.tag, firstSeq: 1)
            let entryLimit = ExtentFormat.entryBytesMaximum, extentLimit = ExtentFormat.payloadBytesMaximum
            #expect(throws: ExtentError.tooLarge(bytes: entryLimit + 1, limit: entryLimit)) {
                try writer.append(seq: 1, payload: [UInt8](repeating: 1, count: entryLimit + 1))
            }
            for seq in 1...UInt64(extentLimit / entryLimit) { try writer.append(seq: seq, payload: [UInt8](repeating: 2, count: entryLimit)) }
            #expect(writer.payloadBytes == extentLimit && writer.canAppend(payloadBytes: 0) && !writer.canAppend(payloadBytes: 1))
            #expect(throws: ExtentError.tooLarge(bytes: extentLimit + 1, limit: extentLimit)) { try writer.append(seq: 33, payload: [3]) }
            try writer.append(seq: 33, payload: [])
            writer.abandon()
            #expect(try extents.extentIDs() == [])
        }
    }

    @Test func seqsMustBeConsecutiveAndAnExtentNonEmpty() throws {
        let disk = SimulatedDisk()
        let empty = try ExtentWriter(directory: disk, extentID: 1, queueTag: Self.tag, firstSeq: 10)
        #expect(throws: ExtentError.empty(file: ExtentFormat.fileName(1))) { try empty.finish() }
        empty.abandon()
        #expect(try disk.fileNames() == [])
        let writer = try ExtentWriter(directory: disk, extentID: 2, queueTag: Self.tag, firstSeq: 10)
        #expect(throws: ExtentError.notSequential(expected: 10, got: 11)) { try writer.append(seq: 11, payload: [1]) }
        try writer.append(seq: 10, payload: [1])
        #expect(throws: ExtentError.notSequential(expected: 11, got: 10)) { try writer.append(seq: 10, payload: [1]) }
        try writer.append(seq: 11, payload: [2])
        #expect(try writer.finish() == ExtentSummary(extentID: 2, firstSeq: 10, lastSeq: 11, count: 2, fileBytes: 122))
        let reader = try ExtentReader(directory: disk, extentID: 2)
        for seq: UInt64 in [0, 9, 12, .max] {
            #expect(throws: ExtentError.seqOutOfRange(file: ExtentFormat.fileName(2), seq: seq, first: 10, last: 11)) {
                try reader.entries(from: seq, countMaximum: 10, bytesMaximum: 1 << 20)
            }
        }
    }

    enum Outcome: Equatable { case intact, corrupt, wrongEntry(UInt64), otherError(String) }

    /// Opens extent `id` and reads all of it, in pages and by `verifyAll`; an entry that comes back must be the one written.
    static func readEverything(_ directory: StorageDirectory, id: UInt64, first: UInt64, _ expected: [[UInt8]]) -> Outcome {
        do {
            let reader = try ExtentReader(directory: directory, extentID: id)
            defer { reader.close() }
            guard reader.firstSeq == first, reader.count == expected.count else { return .wrongEntry(reader.firstSeq) }
            var seq = first
            while seq <= reader.lastSeq {
                let page = try reader.entries(from: seq, countMaximum: 7, bytesMaximum: 500)
                if page.isEmpty { return .otherError("an empty page at seq \(seq)") }
                for entry in page {
                    guard entry.seq == seq, entry.payload == expected[Int(seq - first)] else { return .wrongEntry(seq) }
                    seq += 1
                }
            }
            try reader.verifyAll()
            return .intact
        } catch {
            if let error = error as? ExtentError, case .corrupt = error { return .corrupt }
            return .otherError("\(error)")
        }
    }

    @Test func everyFlippedBitAndTruncationIsReportedAsCorruption() throws {
        let disk = SimulatedDisk()
        let payloads = Self.randomPayloads(count: 30, maximum: 200, seed: 5)
        try Self.write(payloads, to: disk, id: 9, firstSeq: 1)
        let file = try disk.openFile(ExtentFormat.fileName(9))
        let original = try file.read(at: 0, count: try file.size())
        #expect(Self.readEverything(disk, id: 9, first: 1, payloads) == .intact)
        // Every byte of the header, the table and the footer, every third byte of the records.
        let tableOffset = original.count - ExtentFormat.footerBytes - payloads.count * 8
        for position in 0..<original.count where position < ExtentFormat.headerBytes || position >= tableOffset || position % 3 == 0 {
            var damaged = original
            damaged[position] ^= 1 << UInt8(position % 8)
            try file.write(damaged, at: 0)
            let outcome = Self.readEverything(disk, id: 9, first: 1, payloads)
            #expect(outcome == .corrupt, "a flipped bit at byte \(position) of \(original.count): \(outcome)")
        }
        let minimum = ExtentFormat.headerBytes + ExtentFormat.footerBytes
        for length in [0, 1, ExtentFormat.headerBytes, minimum - 1, minimum, original.count / 2, original.count - 1] {
            try file.write(original, at: 0)
            try file.truncate(to: length)
            #expect(Self.readEverything(disk, id: 9, first: 1, payloads) == .corrupt, "truncated to \(length) bytes")
        }
        // The same bytes under another extent's name.
        try disk.openFile(ExtentFormat.fileName(10)).write(original, at: 0)
        #expect(Self.readEverything(disk, id: 10, first: 1, payloads) == .corrupt)
    }

    @Test func theDirectoryListsNumbersAndRemovesExtents() throws {
        let disk = SimulatedDisk()
        let extents = ExtentDirectory(directory: disk)
        #expect(try extents.extentIDs() == [])
        #expect(try extents.nextExtentID() == 1)
        for id: UInt64 in [5, 2, 0x1_0000_0000] {
            let summary = try Self.write([Array("entry \(id)".utf8)], to: disk, id: id, firstSeq: id * 10)
            #expect(try extents.fileBytes(id) == summary.fileBytes)
        }
        for stray in ["LOCK", "notes.txt", "00000000000000AB.extent", "5.extent", "000000000000000g.extent"] { _ = try disk.openFile(stray) }
        #expect(try extents.extentIDs() == [2, 5, 0x1_0000_0000])
        #expect(try extents.nextExtentID() == 0x1_0000_0001)
        #expect(try extents.openReader(5).entries(from: 50, countMaximum: 9, bytesMaximum: 100).first?.payload == Array("entry 5".utf8))
        try extents.remove(0x1_0000_0000)
        #expect(try extents.extentIDs() == [2, 5])
        #expect(try extents.nextExtentID() == 6)
        #expect(throws: ExtentError.missing(file: ExtentFormat.fileName(9))) { try extents.openReader(9) }
        #expect(throws: ExtentError.missing(file: ExtentFormat.fileName(9))) { try extents.fileBytes(9) }
        let names = try disk.fileNames()  // removed, and asking for a missing extent made no empty file
        #expect(!names.contains(ExtentFormat.fileName(0x1_0000_0000)) && !names.contains(ExtentFormat.fileName(9)))
        #expect(ExtentFormat.extentID(ofFileName: ExtentFormat.fileName(0xAB)) == 0xAB)
    }
}
