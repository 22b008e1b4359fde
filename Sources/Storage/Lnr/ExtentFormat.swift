/// The on-disk layout of an extent: an immutable file of consecutive entries of
/// one queue (the `lnr` memory). Every part carries its own CRC32C, so a reader
/// can trust the header and footer alone to know what the file holds, and
/// checks each record only when it reads it.
///
///     header  "TQX1" | u64 extentID | 16-byte queue tag | u64 firstSeq | u32 crc
///     record  u32 payloadLength | u32 crc(seq LE ‖ payload) | u64 seq | payload   (× count)
///     table   u64 record offset                                              (× count)
///     footer  u64 tableOffset | u32 count | u64 lastSeq | u32 tableCRC | u32 crc | "TQXE"
///
/// All integers are little-endian.
public enum ExtentFormat {
    /// Bounds one extent's size, so that removing or scrubbing one is a bounded amount of work.
    public static let payloadBytesMaximum = 32 << 20
    /// One entry at most: a reader's page always holds at least one whole entry.
    public static let entryBytesMaximum = 1 << 20
    /// Bounds the offset table the writer keeps in memory (4 bytes an entry) and
    /// keeps the count within the footer's u32, even for empty payloads.
    public static let entryCountMaximum = 1 << 20
    public static let queueTagBytes = 16
    public static let headerBytes = 40
    public static let recordHeaderBytes = 16
    public static let footerBytes = 32
    /// Writes and scans go through a window of this size: bounded memory, few system calls.
    static let chunkBytes = 1 << 20

    static let headerMagic: [UInt8] = Array("TQX1".utf8)
    static let footerMagic: [UInt8] = Array("TQXE".utf8)
    static let fileSuffix = ".extent"

    /// Zero-padded hex, so that names sort as their IDs do.
    public static func fileName(_ id: UInt64) -> String {
        let hex = String(id, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + fileSuffix
    }

    /// The ID of a file named by ``fileName(_:)``; `nil` for any other name
    /// (the round trip rejects upper case, signs and other lengths).
    public static func extentID(ofFileName name: String) -> UInt64? {
        guard name.hasSuffix(fileSuffix), let id = UInt64(name.dropLast(fileSuffix.count), radix: 16) else { return nil }
        return fileName(id) == name ? id : nil
    }

    /// The record checksum covers the seq too: a record read through a wrong
    /// table slot, or one left in the wrong place, fails it.
    static func recordChecksum(seq: UInt64, payload: [UInt8]) -> UInt32 {
        var seqBytes = ByteWriter(capacity: 8)
        seqBytes.append(seq)
        return CRC32C.checksum(payload, seed: CRC32C.checksum(seqBytes.bytes))
    }

    static func recordHeader(seq: UInt64, payload: [UInt8]) -> [UInt8] {
        var writer = ByteWriter(capacity: recordHeaderBytes)
        writer.append(UInt32(payload.count))
        writer.append(recordChecksum(seq: seq, payload: payload))
        writer.append(seq)
        return writer.bytes
    }

    /// A little-endian integer at `offset`; the caller has checked the length.
    static func load<T: FixedWidthInteger>(_ type: T.Type, from bytes: [UInt8], at offset: Int) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + index]) << (8 * index) }
        return value
    }
}

/// A record's fixed part, parsed before its payload is read so that a reader
/// can stop before a payload that would overflow its page.
struct ExtentRecordHeader {
    let payloadLength: Int
    let checksum: UInt32
    let seq: UInt64

    init(decoding bytes: [UInt8], file: String, offset: Int) throws {
        precondition(bytes.count == ExtentFormat.recordHeaderBytes)
        let length = ExtentFormat.load(UInt32.self, from: bytes, at: 0)
        guard length <= ExtentFormat.entryBytesMaximum else {
            throw ExtentError.corrupt(
                file: file, reason: "the record at offset \(offset) claims \(length) payload bytes, more than an entry may hold")
        }
        payloadLength = Int(length)
        checksum = ExtentFormat.load(UInt32.self, from: bytes, at: 4)
        seq = ExtentFormat.load(UInt64.self, from: bytes, at: 8)
    }

    /// Checks the record is the one expected here and its payload is intact.
    func check(payload: [UInt8], expectedSeq: UInt64, file: String, offset: Int) throws {
        guard seq == expectedSeq else {
            throw ExtentError.corrupt(file: file, reason: "the record at offset \(offset) holds seq \(seq), expected \(expectedSeq)")
        }
        guard ExtentFormat.recordChecksum(seq: seq, payload: payload) == checksum else {
            throw ExtentError.corrupt(file: file, reason: "the record of seq \(seq) at offset \(offset) fails its checksum")
        }
    }
}
