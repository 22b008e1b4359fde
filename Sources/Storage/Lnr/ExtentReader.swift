/// Reads a finished extent. Opening checks the header and footer only, so it
/// costs two small reads whatever the extent's size; each record is checked
/// (checksum and seq) as it is read, and ``verifyAll()`` checks everything.
///
/// Every property is fixed at open and reads are positional (`pread`), so one
/// reader may serve several threads at once; ``close()`` only once they are done.
public final class ExtentReader: @unchecked Sendable {
    public let extentID: UInt64
    public let queueTag: [UInt8]
    public let firstSeq: UInt64
    public let lastSeq: UInt64
    public let count: Int
    public let fileBytes: Int

    private let file: StorageFile
    private let name: String
    private let tableOffset: Int
    private let tableChecksum: UInt32

    public init(directory: StorageDirectory, extentID: UInt64) throws {
        let name = ExtentFormat.fileName(extentID)
        let file = try directory.openFile(name)
        let ends: (header: ExtentFormat.Header, footer: ExtentFormat.Footer, size: Int)
        do {
            ends = try ExtentReader.readEnds(of: file, name: name, extentID: extentID)
        } catch {
            file.close()
            throw error
        }
        self.extentID = extentID
        self.name = name
        self.file = file
        queueTag = ends.header.queueTag
        firstSeq = ends.header.firstSeq
        lastSeq = ends.footer.lastSeq
        count = Int(ends.footer.count)
        fileBytes = ends.size
        tableOffset = Int(ends.footer.tableOffset)
        tableChecksum = ends.footer.tableChecksum
    }

    /// Header and footer, checked against each other and the file's size, so that
    /// later reads can trust the seq range and where the table lies.
    private static func readEnds(
        of file: StorageFile, name: String, extentID: UInt64
    ) throws -> (header: ExtentFormat.Header, footer: ExtentFormat.Footer, size: Int) {
        let size = try file.size()
        let minimum = ExtentFormat.headerBytes + ExtentFormat.footerBytes
        guard size >= minimum else {
            throw ExtentError.corrupt(file: name, reason: "it has \(size) bytes, fewer than the \(minimum) of a header and footer")
        }
        let header = try ExtentFormat.Header(decoding: try file.read(at: 0, count: ExtentFormat.headerBytes), file: name)
        guard header.extentID == extentID else {
            throw ExtentError.corrupt(file: name, reason: "its header names extent \(header.extentID)")
        }
        let footerOffset = size - ExtentFormat.footerBytes
        let footer = try ExtentFormat.Footer(decoding: try file.read(at: footerOffset, count: ExtentFormat.footerBytes), file: name)
        let count = Int(footer.count)
        guard count >= 1, footer.lastSeq >= header.firstSeq, footer.lastSeq - header.firstSeq == UInt64(count - 1) else {
            throw ExtentError.corrupt(
                file: name, reason: "its footer's count \(count) does not match seqs \(header.firstSeq) to \(footer.lastSeq)")
        }
        let recordsMinimum = UInt64(ExtentFormat.headerBytes + count * ExtentFormat.recordHeaderBytes)
        guard footer.tableOffset >= recordsMinimum, footer.tableOffset <= UInt64(footerOffset),
            UInt64(footerOffset) - footer.tableOffset == UInt64(count * 8)
        else {
            throw ExtentError.corrupt(
                file: name, reason: "its footer's table offset \(footer.tableOffset) does not fit a file of \(size) bytes")
        }
        return (header, footer, size)
    }

    /// Consecutive entries from `seq`: at most `countMaximum`, and no more payload
    /// bytes than `bytesMaximum` unless a single entry is larger (a page always
    /// holds at least one entry, so a large entry never blocks its queue; a
    /// `countMaximum` below 1 counts as 1).
    public func entries(from seq: UInt64, countMaximum: Int, bytesMaximum: Int) throws -> [(seq: UInt64, payload: [UInt8])] {
        guard seq >= firstSeq, seq <= lastSeq else {
            throw ExtentError.seqOutOfRange(file: name, seq: seq, first: firstSeq, last: lastSeq)
        }
        let start = try recordOffset(of: seq)
        let byteLimit = max(0, bytesMaximum)
        // A small page needs a small window: do not pull a whole chunk off the disk for it.
        let chunk = ExtentFormat.chunkBytes
        let window = byteLimit >= chunk ? chunk : max(4096, byteLimit + ExtentFormat.recordHeaderBytes)
        var input = SequentialFileReader(file: file, name: name, start: start, end: tableOffset, windowBytes: window)
        var result: [(seq: UInt64, payload: [UInt8])] = []
        var bytes = 0
        var next = seq
        while result.count < max(1, countMaximum) {
            let offset = input.position
            let header = try ExtentRecordHeader(
                decoding: try input.take(ExtentFormat.recordHeaderBytes), file: name, offset: offset)
            if !result.isEmpty && header.payloadLength > byteLimit - bytes { break }
            let payload = try input.take(header.payloadLength)
            try header.check(payload: payload, expectedSeq: next, file: name, offset: offset)
            result.append((seq: next, payload: payload))
            bytes += payload.count
            if next == lastSeq { break }
            next += 1
        }
        return result
    }

    /// Reads every record and the whole table through bounded windows, checking
    /// every checksum and that each table slot points at its record: for scrubbing.
    public func verifyAll() throws {
        let chunk = ExtentFormat.chunkBytes
        var records = SequentialFileReader(
            file: file, name: name, start: ExtentFormat.headerBytes, end: tableOffset, windowBytes: chunk)
        var table = SequentialFileReader(
            file: file, name: name, start: tableOffset, end: fileBytes - ExtentFormat.footerBytes, windowBytes: chunk)
        var checksum: UInt32 = 0
        for index in 0..<count {
            let seq = firstSeq + UInt64(index)
            let slot = try table.take(8)
            checksum = CRC32C.checksum(slot, seed: checksum)
            let offset = records.position
            let header = try ExtentRecordHeader(
                decoding: try records.take(ExtentFormat.recordHeaderBytes), file: name, offset: offset)
            try header.check(payload: try records.take(header.payloadLength), expectedSeq: seq, file: name, offset: offset)
            let slotOffset = ExtentFormat.load(UInt64.self, from: slot, at: 0)
            guard slotOffset == UInt64(offset) else {
                throw ExtentError.corrupt(
                    file: name, reason: "the table puts seq \(seq) at offset \(slotOffset), but its record is at offset \(offset)")
            }
        }
        guard records.position == tableOffset else {
            throw ExtentError.corrupt(
                file: name, reason: "\(tableOffset - records.position) bytes lie between the last record and the table")
        }
        guard checksum == tableChecksum else {
            throw ExtentError.corrupt(file: name, reason: "the offset table fails its checksum")
        }
    }

    public func close() {
        file.close()
    }

    /// The table slot of `seq` (in range), checked to point inside the records:
    /// the record's own checksum and seq then catch any other damage to the slot.
    private func recordOffset(of seq: UInt64) throws -> Int {
        let index = Int(seq - firstSeq)
        let slot = try file.read(at: tableOffset + index * 8, count: 8)
        guard slot.count == 8 else {
            throw ExtentError.corrupt(file: name, reason: "the file ends inside the offset table")
        }
        let offset = ExtentFormat.load(UInt64.self, from: slot, at: 0)
        guard offset >= UInt64(ExtentFormat.headerBytes),
            offset <= UInt64(tableOffset - ExtentFormat.recordHeaderBytes)
        else {
            throw ExtentError.corrupt(
                file: name, reason: "the table puts seq \(seq) at offset \(offset), outside the records")
        }
        return Int(offset)
    }
}
