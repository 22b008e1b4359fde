/// Appends little-endian integers and length-prefixed bytes to a buffer.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func append(_ value: UInt8) { bytes.append(value) }
    mutating func append(_ value: UInt16) { appendInteger(value) }
    mutating func append(_ value: UInt32) { appendInteger(value) }
    mutating func append(_ value: UInt64) { appendInteger(value) }
    mutating func append(bytes other: [UInt8]) { bytes.append(contentsOf: other) }

    private mutating func appendInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Overwrites a little-endian integer at `offset` (used to patch lengths and checksums).
    mutating func set<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }
}

/// Reads what ``ByteWriter`` wrote; every read is bounds-checked and a short
/// buffer is a typed error, never a crash: these bytes come from disk.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    struct Truncated: Error {}

    var remaining: Int { end - offset }

    mutating func readUInt8() throws(Truncated) -> UInt8 { try readInteger() }
    mutating func readUInt16() throws(Truncated) -> UInt16 { try readInteger() }
    mutating func readUInt32() throws(Truncated) -> UInt32 { try readInteger() }
    mutating func readUInt64() throws(Truncated) -> UInt64 { try readInteger() }

    mutating func readBytes(_ count: Int) throws(Truncated) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw Truncated() }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    private mutating func readInteger<T: FixedWidthInteger>() throws(Truncated) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw Truncated() }
        var value: T = 0
        for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }
}
