import NIOCore

/// One field's tag, as read from the wire.
struct ProtobufField: Sendable, Hashable {
    let number: Int
    let wireType: ProtobufWireType
    /// Where the tag began, from the start of the outermost message.
    let offset: Int
}

/// Walks the fields of one protobuf message in bytes that came from outside.
/// Every read is bounds-checked against the message's end and fails with a
/// ``ProtobufDecodingError``; a declared length is never trusted beyond the
/// bytes present. Readers of nested messages share the outer buffer: no copy.
struct ProtobufReader {
    /// Groups are deprecated; nothing real nests them this deep.
    static let maxGroupNesting = 32

    private let buffer: ByteBuffer
    /// The next byte to read and the end of this message, as indices into `buffer`.
    private var index: Int
    private let end: Int
    /// Where the outermost message begins in `buffer`, for error offsets.
    private let origin: Int
    /// The message type read, for error descriptions.
    let message: StaticString

    /// A reader of the message that is `buffer`'s readable bytes.
    init(_ buffer: ByteBuffer, message: StaticString) {
        self.init(buffer, from: buffer.readerIndex, to: buffer.writerIndex, origin: buffer.readerIndex, message: message)
    }

    private init(_ buffer: ByteBuffer, from index: Int, to end: Int, origin: Int, message: StaticString) {
        self.buffer = buffer
        self.index = index
        self.end = end
        self.origin = origin
        self.message = message
    }

    var isAtEnd: Bool { index >= end }

    /// The offset of the next byte, from the start of the outermost message.
    var offset: Int { index - origin }

    private var messageName: String { String(describing: message) }

    /// The next field's tag, or nil at the end of the message.
    mutating func nextField() throws(ProtobufDecodingError) -> ProtobufField? {
        guard index < end else { return nil }
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
        return ProtobufReader(buffer, from: contents.lowerBound, to: contents.upperBound, origin: origin, message: message)
    }

    /// A length-delimited field's bytes, decoded as UTF-8 (invalid sequences replaced).
    mutating func readString(_ field: ProtobufField) throws(ProtobufDecodingError) -> String {
        try expect(field, .lengthDelimited)
        let contents = try readLengthDelimited(field: field.number)
        return buffer.getString(at: contents.lowerBound, length: contents.count) ?? ""
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
            guard index < end, let byte = buffer.getInteger(at: index, as: UInt8.self) else {
                throw .truncatedVarint(message: messageName, field: field, offset: start - origin)
            }
            guard index - start < 10 else {
                throw .overlongVarint(message: messageName, field: field, offset: start - origin)
            }
            index += 1
            // The tenth byte's bits above 2^64 drop out, as in every protobuf runtime.
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// The indices of a length-delimited value's bytes, which it passes over.
    private mutating func readLengthDelimited(field: Int) throws(ProtobufDecodingError) -> Range<Int> {
        let lengthOffset = offset
        let declared = try readVarint(field: field)
        let available = end - index
        guard declared <= UInt64(available) else {
            throw .lengthBeyondBuffer(
                message: messageName, field: field, declared: declared, available: available, offset: lengthOffset)
        }
        let contents = index..<(index + Int(declared))
        index = contents.upperBound
        return contents
    }

    private mutating func advance(_ width: Int, field: Int) throws(ProtobufDecodingError) {
        let available = end - index
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
