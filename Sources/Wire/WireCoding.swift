/// Why bytes from the network were refused. The reason names the part at
/// fault, so that a peer's log says what was wrong with a frame.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Little-endian writer for frame bodies.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func append(_ flag: Bool) { bytes.append(flag ? 1 : 0) }

    public mutating func appendBlob(_ blob: [UInt8]) {
        append(UInt32(blob.count))
        bytes.append(contentsOf: blob)
    }

    public mutating func appendOptionalBlob(_ blob: [UInt8]?) {
        append(blob != nil)
        if let blob { appendBlob(blob) }
    }

    public mutating func appendString(_ string: String) { appendBlob(Array(string.utf8)) }

    public mutating func appendOptional<T: FixedWidthInteger>(_ value: T?) {
        append(value != nil)
        if let value { append(value) }
    }
}

/// Bounds-checked little-endian reader: every read names what it was reading
/// when the bytes ran out or made no sense.
public struct WireReader: Sendable {
    let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw WireError("truncated \(what()) at byte \(offset)") }
        var value: T = 0
        for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    public mutating func readBool(_ what: @autoclosure () -> String) throws(WireError) -> Bool {
        switch try read(UInt8.self, what()) {
        case 0: return false
        case 1: return true
        case let flag: throw WireError("\(what()) flag is \(flag), not 0 or 1")
        }
    }

    public mutating func readBlob(_ what: @autoclosure () -> String, maximum: Int = Int(UInt32.max)) throws(WireError) -> [UInt8] {
        let count = Int(try read(UInt32.self, "length of \(what())"))
        guard count <= maximum else { throw WireError("\(what()) is \(count) bytes; the limit is \(maximum)") }
        guard count <= remaining else { throw WireError("truncated \(what()): \(count) bytes announced, \(remaining) left") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func readOptionalBlob(_ what: @autoclosure () -> String, maximum: Int = Int(UInt32.max)) throws(WireError) -> [UInt8]? {
        try readBool("presence of \(what())") ? try readBlob(what(), maximum: maximum) : nil
    }

    public mutating func readString(_ what: @autoclosure () -> String, maximum: Int = 1 << 16) throws(WireError) -> String {
        let blob = try readBlob(what(), maximum: maximum)
        guard let string = String(validating: blob, as: UTF8.self) else { throw WireError("\(what()) is not valid UTF-8") }
        return string
    }

    public mutating func readOptional<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(WireError) -> T? {
        try readBool("presence of \(what())") ? try read(T.self, what()) : nil
    }

    /// A count of elements that each take at least `elementBytes`: refused when
    /// the rest of the frame could not hold them, so a lying count allocates nothing.
    public mutating func readCount(_ what: @autoclosure () -> String, elementBytes: Int) throws(WireError) -> Int {
        let count = Int(try read(UInt32.self, "count of \(what())"))
        guard count <= remaining / max(elementBytes, 1) else {
            throw WireError("\(count) \(what()) announced, but only \(remaining) bytes are left")
        }
        return count
    }

    public func expectEnd(_ what: @autoclosure () -> String) throws(WireError) {
        guard remaining == 0 else { throw WireError("\(remaining) trailing bytes after \(what())") }
    }
}
