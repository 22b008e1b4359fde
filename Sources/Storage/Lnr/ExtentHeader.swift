extension ExtentFormat {
    /// The first bytes of an extent: which extent and queue it is, and where its seqs start.
    /// Checked on every open, so that a file renamed or overwritten by mistake is never read as another.
    public struct Header: Sendable, Hashable {
        public var extentID: UInt64
        public var queueTag: [UInt8]
        public var firstSeq: UInt64

        public init(extentID: UInt64, queueTag: [UInt8], firstSeq: UInt64) {
            self.extentID = extentID
            self.queueTag = queueTag
            self.firstSeq = firstSeq
        }

        public func encoded() -> [UInt8] {
            let tagBytes = ExtentFormat.queueTagBytes
            precondition(queueTag.count == tagBytes, "a queue tag has \(tagBytes) bytes, not \(queueTag.count)")
            var writer = ByteWriter(capacity: ExtentFormat.headerBytes)
            writer.append(bytes: ExtentFormat.headerMagic)
            writer.append(extentID)
            writer.append(bytes: queueTag)
            writer.append(firstSeq)
            writer.append(CRC32C.checksum(writer.bytes))
            return writer.bytes
        }

        public init(decoding bytes: [UInt8], file: String) throws {
            let size = ExtentFormat.headerBytes
            guard bytes.count == size else {
                throw ExtentError.corrupt(file: file, reason: "the header is truncated (\(bytes.count) of \(size) bytes)")
            }
            guard Array(bytes[0..<4]) == ExtentFormat.headerMagic else {
                throw ExtentError.corrupt(file: file, reason: "the header does not start with the extent magic \"TQX1\"")
            }
            let stored = ExtentFormat.load(UInt32.self, from: bytes, at: size - 4)
            guard CRC32C.checksum(bytes[0..<size - 4]) == stored else {
                throw ExtentError.corrupt(file: file, reason: "the header fails its checksum")
            }
            extentID = ExtentFormat.load(UInt64.self, from: bytes, at: 4)
            queueTag = Array(bytes[12..<12 + ExtentFormat.queueTagBytes])
            firstSeq = ExtentFormat.load(UInt64.self, from: bytes, at: 28)
        }
    }

    /// The last bytes of an extent: enough to serve any seq without reading the records first.
    public struct Footer: Sendable, Hashable {
        public var tableOffset: UInt64
        public var count: UInt32
        public var lastSeq: UInt64
        /// Over the whole offset table, checked only when scrubbing (``ExtentReader/verifyAll()``):
        /// a reader uses single slots, and each record's own checksum and seq catch a wrong slot.
        public var tableChecksum: UInt32

        public init(tableOffset: UInt64, count: UInt32, lastSeq: UInt64, tableChecksum: UInt32) {
            self.tableOffset = tableOffset
            self.count = count
            self.lastSeq = lastSeq
            self.tableChecksum = tableChecksum
        }

        public func encoded() -> [UInt8] {
            var writer = ByteWriter(capacity: ExtentFormat.footerBytes)
            writer.append(tableOffset)
            writer.append(count)
            writer.append(lastSeq)
            writer.append(tableChecksum)
            writer.append(CRC32C.checksum(writer.bytes))
            writer.append(bytes: ExtentFormat.footerMagic)
            return writer.bytes
        }

        public init(decoding bytes: [UInt8], file: String) throws {
            let size = ExtentFormat.footerBytes
            guard bytes.count == size else {
                throw ExtentError.corrupt(file: file, reason: "the footer is truncated (\(bytes.count) of \(size) bytes)")
            }
            guard Array(bytes[size - 4..<size]) == ExtentFormat.footerMagic else {
                throw ExtentError.corrupt(
                    file: file, reason: "the file does not end with the extent magic \"TQXE\" (truncated or never finished)")
            }
            let stored = ExtentFormat.load(UInt32.self, from: bytes, at: size - 8)
            guard CRC32C.checksum(bytes[0..<size - 8]) == stored else {
                throw ExtentError.corrupt(file: file, reason: "the footer fails its checksum")
            }
            tableOffset = ExtentFormat.load(UInt64.self, from: bytes, at: 0)
            count = ExtentFormat.load(UInt32.self, from: bytes, at: 8)
            lastSeq = ExtentFormat.load(UInt64.self, from: bytes, at: 12)
            tableChecksum = ExtentFormat.load(UInt32.self, from: bytes, at: 20)
        }
    }
}
