/// The write-ahead log: append-only segment files `wal-<first sequence>.log`.
///
/// One owner appends (the group committer); a record reaches the disk in the
/// same write as the other records of its group, and one sync makes the whole
/// group durable. A new segment starts at every checkpoint, so segments older
/// than the checkpoint are removed whole.
final class WriteAheadLog {
    static let segmentPrefix = "wal-"
    static let segmentSuffix = ".log"

    private let directory: StorageDirectory
    private var segment: StorageFile?
    private(set) var segmentName: String?
    private var writeOffset = 0
    /// The segment is zero-filled and synced up to here: a sync of records written
    /// below it flushes data only, with no file-size change for the file system to
    /// journal (on ext4 about twice as fast as an appending fdatasync).
    private var zeroFilledUpTo = 0
    private let zeroFillStepBytes: Int
    /// Bytes appended since the last checkpoint (to decide when to take the next).
    private(set) var bytesSinceCheckpoint = 0

    init(directory: StorageDirectory, zeroFillStepBytes: Int) {
        self.directory = directory
        self.zeroFillStepBytes = max(zeroFillStepBytes, 4096)
    }

    static func segmentName(firstSequence: UInt64) -> String {
        let hex = String(firstSequence, radix: 16)
        return segmentPrefix + String(repeating: "0", count: 16 - hex.count) + hex + segmentSuffix
    }

    static func firstSequence(ofSegment name: String) -> UInt64? {
        guard name.hasPrefix(segmentPrefix), name.hasSuffix(segmentSuffix) else { return nil }
        return UInt64(name.dropFirst(segmentPrefix.count).dropLast(segmentSuffix.count), radix: 16)
    }

    func segmentNames() throws -> [String] {
        try directory.fileNames().filter { Self.firstSequence(ofSegment: $0) != nil }.sorted()
    }

    /// Appends already-framed records at the end of the current segment.
    func append(_ records: [UInt8]) throws {
        guard let segment else { preconditionFailure("WAL append before a segment was opened") }
        while writeOffset + records.count > zeroFilledUpTo {
            try segment.write([UInt8](repeating: 0, count: zeroFillStepBytes), at: zeroFilledUpTo)
            try segment.sync()
            zeroFilledUpTo += zeroFillStepBytes
        }
        try segment.write(records, at: writeOffset)
        writeOffset += records.count
        bytesSinceCheckpoint += records.count
    }

    /// The record that carries the replicated logs over into a new segment:
    /// not counted toward the next checkpoint (it holds no item writes, and a
    /// large one would otherwise start checkpoint after checkpoint).
    func appendCarriedLogs(_ record: [UInt8]) throws {
        try append(record)
        bytesSinceCheckpoint -= record.count
    }

    func sync() throws {
        try segment?.sync()
    }

    /// Starts a segment whose first record will have `firstSequence` (older
    /// ones go with ``removeSegments(before:)`` once a checkpoint covers them).
    func startSegment(firstSequence: UInt64) throws {
        let name = Self.segmentName(firstSequence: firstSequence)
        segment?.close()
        let file = try directory.openFile(name)
        try file.truncate(to: 0)
        try directory.sync()
        segment = file
        segmentName = name
        writeOffset = 0
        zeroFilledUpTo = 0
        bytesSinceCheckpoint = 0
    }

    /// Removes every segment before `name` (segment names sort by their first sequence).
    func removeSegments(before name: String) throws {
        let older = try segmentNames().filter { $0 < name }
        for old in older { try directory.removeFile(old) }
        if !older.isEmpty { try directory.sync() }
    }

    /// Continues appending to an existing segment after recovery.
    func resume(segment name: String, at offset: Int) throws {
        segment?.close()
        let file = try directory.openFile(name)
        segment = file
        segmentName = name
        writeOffset = offset
        // Recovery keeps a zero-filled tail: what lies past the records is zeros.
        zeroFilledUpTo = max(offset, try file.size())
    }

    func close() {
        segment?.close()
        segment = nil
    }

    // MARK: Recovery

    struct Recovery {
        var batches: [WALBatch] = []
        /// The last segment and where its valid records end (appends continue there).
        var lastSegment: (name: String, validBytes: Int)?
        /// A torn tail that was cut: which segment, at which offset, how many bytes, why.
        var discardedTail: (segment: String, offset: Int, bytes: Int, reason: String)?
        var totalBytes = 0
    }

    /// Reads every segment in order and returns the batches after `checkpointSequence`.
    ///
    /// An invalid record at the end of the last segment is a write torn by a
    /// crash: it was never acknowledged, so it is cut. An invalid record followed
    /// by valid ones, or anywhere in an older segment, is corruption of
    /// acknowledged data: reported, never skipped.
    func recover(after checkpointSequence: UInt64) throws -> Recovery {
        var recovery = Recovery()
        let names = try segmentNames()
        var expectedSequence: UInt64? = nil
        for (position, name) in names.enumerated() {
            let file = try directory.openFile(name)
            defer { file.close() }
            let bytes = try file.read(at: 0, count: try file.size())
            recovery.totalBytes += bytes.count
            let isLast = position == names.count - 1
            var offset = 0
            scan: while true {
                switch WALRecordFormat.parse(bytes, at: offset) {
                case .endOfData:
                    break scan
                case .record(let batch, let end):
                    if let expected = expectedSequence, batch.firstSequence != expected {
                        throw StorageError.corruption(
                            file: name, location: "offset \(offset)",
                            reason: "sequence \(batch.firstSequence) follows \(expected - 1): records are missing")
                    }
                    expectedSequence = batch.lastSequence + 1
                    // Log changes are not in the pages: they replay from every segment kept.
                    if batch.lastSequence > checkpointSequence || !batch.logChanges.isEmpty {
                        recovery.batches.append(batch)
                    }
                    offset = end
                case .invalid(let reason):
                    // Zeros to the end: the zero-filled space ahead of the writes.
                    if !bytes[offset...].contains(where: { $0 != 0 }) { break scan }
                    if !isLast || !Self.looksTorn(bytes, at: offset) || Self.containsValidRecord(bytes, after: offset) {
                        throw StorageError.corruption(file: name, location: "offset \(offset)", reason: reason)
                    }
                    recovery.discardedTail = (name, offset, bytes.count - offset, reason)
                    // Zero the torn bytes rather than truncating, so the zero-filled
                    // tail stays and the next write lands on zeros.
                    try file.write([UInt8](repeating: 0, count: bytes.count - offset), at: offset)
                    try file.sync()
                    break scan
                }
            }
            if isLast { recovery.lastSegment = (name, offset) }
        }
        return recovery
    }

    /// Whether the invalid record at `offset` is what a crash during its write
    /// leaves: a record cut short by the end of the file, or one whose end was
    /// never written (zeros). A complete-looking record with a bad checksum was
    /// written whole and damaged later: that is corruption, not a tear.
    private static func looksTorn(_ bytes: [UInt8], at offset: Int) -> Bool {
        let headerEnd = offset + WALRecordFormat.headerBytes
        guard headerEnd <= bytes.count else { return true }
        // A header whose last word was never written: the write stopped inside it.
        if bytes[(headerEnd - 4)..<headerEnd].allSatisfy({ $0 == 0 }) { return true }
        guard CRC32C.checksum(bytes[offset..<offset + 12]) == readUInt32(bytes, at: offset + 12) else { return false }
        // The header is intact, so its length is right: a payload cut by the end of
        // the file, or ending in never-written zeros, is a tear.
        let end = headerEnd + Int(readUInt32(bytes, at: offset + 4))
        if end > bytes.count { return true }
        let tail = bytes[max(headerEnd, end - 8)..<end]
        if !tail.isEmpty && tail.allSatisfy({ $0 == 0 }) { return true }
        // A disk writes whole sectors: a write cut at a sector boundary leaves the record's
        // bytes from that boundary on never written (zeros), however few of them there are.
        let lastSectorStart = (end - 1) / sectorBytes * sectorBytes
        return lastSectorStart > headerEnd && bytes[lastSectorStart..<end].allSatisfy { $0 == 0 }
    }

    /// The unit a disk writes whole (``SimulatedDisk`` tears writes on it too).
    static let sectorBytes = 512

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    /// Whether a whole, checksummed record starts anywhere after `offset`.
    private static func containsValidRecord(_ bytes: [UInt8], after offset: Int) -> Bool {
        let magic = withUnsafeBytes(of: WALRecordFormat.magic.littleEndian) { Array($0) }
        var index = offset + 1
        while index + WALRecordFormat.headerBytes <= bytes.count {
            if bytes[index] == magic[0] && bytes[index + 1] == magic[1] && bytes[index + 2] == magic[2]
                && bytes[index + 3] == magic[3], case .record = WALRecordFormat.parse(bytes, at: index)
            {
                return true
            }
            index += 1
        }
        return false
    }
}
