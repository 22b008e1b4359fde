import NIOCore

/// One field's tag, as read from the wire.
struct ProtobufField: Sendable, Hashable {
    let number: Int
    let wireType: ProtobufWireType
    /// Where the tag began, from the start of the outermost message.
    let offset: Int
}

/// Walks the fields of one protobuf message in bytes that came from outside.
/// Every read is bounds-checked against the buffer and fails with a
/// ``ProtobufDecodingError``; a declared length is never trusted beyond the
/// bytes present. Borrowed memory: a reader must not outlive the closure
/// that lent it its bytes (see ``withProtobufReader(_:message:_:)``).
struct ProtobufReader {
    /// Groups are deprecated; nothing real nests them this deep.
    static let maxGroupNesting = 32

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    /// Where `bytes` begins inside the outermost message, for error offsets.
    private let baseOffset: Int
    /// The message type read, for error descriptions.
    let message: StaticString

    init(_ bytes: UnsafeRawBufferPointer, message: StaticString, baseOffset: Int = 0) {
        self.bytes = bytes
        self.message = message
        self.baseOffset = baseOffset
    }

    var isAtEnd: Bool { index >= bytes.count }

    /// The offset of the next byte, from the start of the outermost message.
    var offset: Int { baseOffset + index }

    private var messageName: String { String(describing: message) }

    /// The next field's tag, or nil at the end of the message.
    mutating func nextField() throws(ProtobufDecodingError) -> ProtobufField? {
        guard index < bytes.count else { return nil }
        let tagOffset = offset
        let tag = try readVarint(field: nil)
        let number = tag >> 3
        guard number >= 1, number <= 536_870_911 else {
            throw .invalidFieldNumber(message: messageName, number: number, offset: tagOffset)
        }
        guard let wireType = ProtobufWireType(rawValue: UInt8(tag & 7)) else {
            throw .invalidWireType(message: messageName, field: Int(number), wireType: UInt8(tag & 7), offset: tagOffset)
        }
        return ProtobufField(number: Int(number), wireType: wireType, offset: tagOffset)
    }

    /// Fails unless `field` has the wire type its schema gives it.
    func expect(_ field: ProtobufField, _ wireType: ProtobufWireType) throws(ProtobufDecodingError) {
        guard field.wireType == wireType else {
            throw .wrongWireType(
                message: messageName, field: field.number, expected: wireType, found: field.wireType, offset: field.offset)
        }
    }

    /// A varint field's value (int32, int64, uint64, bool and enum fields alike).
    mutating func readVarint(_ field: ProtobufField) throws(ProtobufDecodingError) -> UInt64 {
        try expect(field, .varint)
        return try readVarint(field: field.number)
    }

    /// A length-delimited field's bytes, as a reader for the message they hold.
    mutating func readMessage(_ field: ProtobufField, as message: StaticString) throws(ProtobufDecodingError) -> ProtobufReader {
        try expect(field, .lengthDelimited)
        let contents = try readLengthDelimited(field: field.number)
        return ProtobufReader(contents, message: message, baseOffset: offset - contents.count)
    }

    /// A length-delimited field's bytes, decoded as UTF-8 (invalid sequences replaced).
    mutating func readString(_ field: ProtobufField) throws(ProtobufDecodingError) -> String {
        try expect(field, .lengthDelimited)
        return String(decoding: try readLengthDelimited(field: field.number), as: UTF8.self)
    }

    /// Passes over a field's value, whatever its wire type.
    mutating func skip(_ field: ProtobufField) throws(ProtobufDecodingError) {
        switch field.wireType {
        case .varint: _ = try readVarint(field: field.number)
        case .fixed64: try advance(8, field: field.number)
        case .fixed32: try advance(4, field: field.number)
        case .lengthDelimited: _ = try readLengthDelimited(field: field.number)
        case .startGroup: try skipGroup(openedBy: field)
        case .endGroup: throw .unexpectedEndGroup(message: messageName, field: field.number, offset: field.offset)
        }
    }

    // MARK: - Wire primitives

    private mutating func readVarint(field: Int?) throws(ProtobufDecodingError) -> UInt64 {
        let start = index
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.count else {
                throw .truncatedVarint(message: messageName, field: field, offset: baseOffset + start)
            }
            guard index - start < 10 else {
                throw .overlongVarint(message: messageName, field: field, offset: baseOffset + start)
            }
            let byte = bytes[index]
            index += 1
            // The tenth byte's bits above 2^64 drop out, as in every protobuf runtime.
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    private mutating func readLengthDelimited(field: Int) throws(ProtobufDecodingError) -> UnsafeRawBufferPointer {
        let lengthOffset = offset
        let declared = try readVarint(field: field)
        let available = bytes.count - index
        guard declared <= UInt64(available) else {
            throw .lengthBeyondBuffer(
                message: messageName, field: field, declared: declared, available: available, offset: lengthOffset)
        }
        let contents = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + Int(declared))])
        index += Int(declared)
        return contents
    }

    private mutating func advance(_ width: Int, field: Int) throws(ProtobufDecodingError) {
        let available = bytes.count - index
        guard width <= available else {
            throw .truncatedFixed(message: messageName, field: field, width: width, available: available, offset: offset)
        }
        index += width
    }

    /// Skips to the end-group tag matching `start`, without recursion, so
    /// that hostile nesting costs neither stack nor unbounded memory.
    private mutating func skipGroup(openedBy start: ProtobufField) throws(ProtobufDecodingError) {
        var open = [start.number]
        while let field = try nextField() {
            switch field.wireType {
            case .startGroup:
                guard open.count < Self.maxGroupNesting else {
                    throw .groupsNestedTooDeep(message: messageName, limit: Self.maxGroupNesting, offset: field.offset)
                }
                open.append(field.number)
            case .endGroup:
                guard field.number == open.last else {
                    throw .unexpectedEndGroup(message: messageName, field: field.number, offset: field.offset)
                }
                open.removeLast()
                if open.isEmpty { return }
            default:
                try skip(field)
            }
        }
        throw .unterminatedGroup(message: messageName, field: start.number, offset: start.offset)
    }
}

/// Lends `body` a reader over `buffer`'s readable bytes, keeping the error typed.
func withProtobufReader<Value>(
    _ buffer: ByteBuffer, message: StaticString,
    _ body: (inout ProtobufReader) throws(ProtobufDecodingError) -> Value
) throws(ProtobufDecodingError) -> Value {
    let result = buffer.withUnsafeReadableBytes { bytes in
        var reader = ProtobufReader(bytes, message: message)
        return Result { () throws(ProtobufDecodingError) -> Value in try body(&reader) }
    }
    return try result.get()
}
