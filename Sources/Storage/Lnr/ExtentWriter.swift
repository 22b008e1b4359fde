/// What a finished extent holds, for the caller's manifest of its queue.
public struct ExtentSummary: Sendable, Hashable {
    public let extentID: UInt64
    public let firstSeq: UInt64
    public let lastSeq: UInt64
    public let count: Int
    public let fileBytes: Int

    public init(extentID: UInt64, firstSeq: UInt64, lastSeq: UInt64, count: Int, fileBytes: Int) {
        self.extentID = extentID
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.count = count
        self.fileBytes = fileBytes
    }
}

/// Writes one extent front to back, once. Writes go out in chunks of about
/// 1 MiB, so memory stays near one chunk plus one payload (and 4 bytes an entry
/// for the offset table) whatever the extent's size; nothing is durable until
/// ``finish()`` has synced the file and the directory.
///
/// One owner at a time: not thread-safe.
public final class ExtentWriter {
    public let extentID: UInt64
    public let queueTag: [UInt8]
    public let firstSeq: UInt64
    public private(set) var count = 0
    public private(set) var payloadBytes = 0

    private let directory: StorageDirectory
    private let file: StorageFile
    private let name: String
    private var pending: [UInt8] = []
    private var writtenBytes = 0
    /// Extents stay far below 4 GiB, so 4 bytes an entry suffice in memory.
    private var recordOffsets: [UInt32] = []
    private var state = State.open

    private enum State { case open, failedToFinish, finished, abandoned }

    /// Creates (or empties) the extent's file. `queueTag` must have ``ExtentFormat/queueTagBytes`` bytes.
    public init(directory: StorageDirectory, extentID: UInt64, queueTag: [UInt8], firstSeq: UInt64) throws {
        let header = ExtentFormat.Header(extentID: extentID, queueTag: queueTag, firstSeq: firstSeq).encoded()
        self.extentID = extentID
        self.queueTag = queueTag
        self.firstSeq = firstSeq
        self.directory = directory
        let name = ExtentFormat.fileName(extentID)
        let file = try directory.openFile(name)
        do {
            try file.truncate(to: 0)
        } catch {
            file.close()
            throw error
        }
        self.name = name
        self.file = file
        pending = header
    }

    /// The seq the next ``append(seq:payload:)`` must carry.
    public var nextSeq: UInt64 { firstSeq &+ UInt64(count) }

    /// Whether an entry of `bytes` payload bytes still fits, so a caller can start
    /// the next extent instead of catching ``ExtentError``.
    public func canAppend(payloadBytes bytes: Int) -> Bool {
        bytes <= ExtentFormat.entryBytesMaximum && payloadBytes + bytes <= ExtentFormat.payloadBytesMaximum
            && count < ExtentFormat.entryCountMaximum
    }

    public func append(seq: UInt64, payload: [UInt8]) throws {
        precondition(state == .open, "append to an extent writer that is finished or abandoned")
        guard seq == nextSeq else { throw ExtentError.notSequential(expected: nextSeq, got: seq) }
        guard payload.count <= ExtentFormat.entryBytesMaximum else {
            throw ExtentError.tooLarge(bytes: payload.count, limit: ExtentFormat.entryBytesMaximum)
        }
        guard payloadBytes + payload.count <= ExtentFormat.payloadBytesMaximum else {
            throw ExtentError.tooLarge(bytes: payloadBytes + payload.count, limit: ExtentFormat.payloadBytesMaximum)
        }
        guard count < ExtentFormat.entryCountMaximum else {
            throw ExtentError.tooManyEntries(count: count + 1, limit: ExtentFormat.entryCountMaximum)
        }
        recordOffsets.append(UInt32(writtenBytes + pending.count))
        pending.append(contentsOf: ExtentFormat.recordHeader(seq: seq, payload: payload))
        pending.append(contentsOf: payload)
        count += 1
        payloadBytes += payload.count
        if pending.count >= ExtentFormat.chunkBytes { try flush() }
    }

    /// Writes the rest, the offset table and the footer, then makes the extent
    /// durable: the file's data, then its name in the directory.
    @discardableResult
    public func finish() throws -> ExtentSummary {
        precondition(state == .open, "finish of an extent writer that is finished or abandoned")
        guard count > 0 else { throw ExtentError.empty(file: name) }
        // A failure below leaves the file in an unknown state: only abandon() is left.
        state = .failedToFinish
        let tableOffset = writtenBytes + pending.count
        var tableChecksum: UInt32 = 0
        let slotsPerChunk = ExtentFormat.chunkBytes / 8
        var start = 0
        while start < recordOffsets.count {
            let end = min(start + slotsPerChunk, recordOffsets.count)
            var slots = ByteWriter(capacity: (end - start) * 8)
            for offset in recordOffsets[start..<end] { slots.append(UInt64(offset)) }
            tableChecksum = CRC32C.checksum(slots.bytes, seed: tableChecksum)
            pending.append(contentsOf: slots.bytes)
            if pending.count >= ExtentFormat.chunkBytes { try flush() }
            start = end
        }
        let lastSeq = firstSeq + UInt64(count - 1)
        let footer = ExtentFormat.Footer(
            tableOffset: UInt64(tableOffset), count: UInt32(count), lastSeq: lastSeq, tableChecksum: tableChecksum)
        pending.append(contentsOf: footer.encoded())
        try flush()
        try file.sync()
        file.close()
        try directory.sync()
        state = .finished
        recordOffsets = []
        return ExtentSummary(extentID: extentID, firstSeq: firstSeq, lastSeq: lastSeq, count: count, fileBytes: writtenBytes)
    }

    /// Closes and removes an unfinished extent. A finished one is left alone:
    /// it belongs to the caller's manifest now (``ExtentDirectory/remove(_:)``).
    public func abandon() {
        guard state == .open || state == .failedToFinish else { return }
        state = .abandoned
        file.close()
        pending = []
        recordOffsets = []
        // Not synced: a leftover after a crash is an unfinished file, which no manifest names.
        try? directory.removeFile(name)
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        try file.write(pending, at: writtenBytes)
        writtenBytes += pending.count
        pending.removeAll(keepingCapacity: true)
    }
}
