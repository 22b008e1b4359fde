import NIOCore

/// The incremental RESP2 reply decoder, free of any channel: hand it the bytes
/// received so far and it takes complete replies off their front.
///
/// It keeps its place between calls (the arrays being filled, how far a long
/// line was searched), so each byte is examined about once however the stream
/// is split. It consumes only whole items, leaving a bulk string in the buffer
/// until all its bytes and CRLF are there, and never reserves memory from a
/// declared length: what it holds grows with the bytes received, not with the
/// lengths a server claims.
public struct RESPReplyParser: Sendable {
    public let limits: RESPLimits

    private struct OpenArray: Sendable {
        var expected: Int
        var elements: [RESPValue]
    }

    private var openArrays: [OpenArray] = []
    /// Where the buffer's reader index is in the stream: the base of error offsets.
    private var offset = 0
    /// How many bytes after the current item's type byte are known to hold no line break.
    private var lineBytesSearched = 0
    /// A stream cannot be resynchronized after malformed bytes, so the first error sticks.
    private var failure: RESPDecodingError?

    public init(limits: RESPLimits = RESPLimits()) { self.limits = limits }

    /// Whether a reply has begun and not ended: an array still waits for elements.
    public var isInsideReply: Bool { !openArrays.isEmpty }

    /// The next complete reply at the front of `buffer`, its bytes consumed; `nil` when more bytes
    /// are needed (the bytes of the elements already complete are consumed meanwhile). `buffer`
    /// must hold what the previous call left in it followed by the bytes that arrived since.
    public mutating func next(from buffer: inout ByteBuffer) throws(RESPDecodingError) -> RESPValue? {
        if let failure { throw failure }
        do throws(RESPDecodingError) {
            while let item = try item(in: buffer) {
                buffer.moveReaderIndex(forwardBy: item.length)
                offset += item.length
                lineBytesSearched = 0
                switch item.kind {
                case .value(let value):
                    if let reply = fold(value) { return reply }
                case .arrayStart(let count):
                    openArrays.append(OpenArray(expected: count, elements: []))
                }
            }
            return nil
        } catch {
            failure = error
            throw error
        }
    }

    private enum ItemKind {
        case value(RESPValue)
        /// An array with at least one element to come.
        case arrayStart(count: Int)
    }

    private struct Item {
        var length: Int
        var kind: ItemKind
    }

    /// The item at the front of `buffer` (a value, or the header of a non-empty array), or `nil` when
    /// it has not all arrived. Errors point at the item's first byte unless a later byte is at fault.
    private mutating func item(in buffer: ByteBuffer) throws(RESPDecodingError) -> Item? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let length: Int
            switch try line(in: buffer, limit: limits.maxLineBytes) {
            case .incomplete: return nil
            case .tooLong: throw .lineTooLong(limit: limits.maxLineBytes, offset: offset)
            case .complete(let found): length = found
            }
            let text = buffer.getString(at: buffer.readerIndex + 1, length: length) ?? ""
            return Item(length: length + 3, kind: .value(type == UInt8(ascii: "+") ? .simpleString(text) : .error(text)))
        case UInt8(ascii: ":"):
            guard let (value, length) = try number(in: buffer) else { return nil }
            return Item(length: length, kind: .value(.integer(value)))
        case UInt8(ascii: "$"):
            guard let (declared, headerLength) = try number(in: buffer) else { return nil }
            if declared == -1 { return Item(length: headerLength, kind: .value(.nullBulkString)) }
            guard declared >= 0 else { throw .negativeLength(declared, offset: offset) }
            guard declared <= limits.maxBulkBytes else {
                throw .bulkTooLong(length: declared, limit: limits.maxBulkBytes, offset: offset)
            }
            let count = Int(declared)
            guard buffer.readableBytes >= headerLength + count + 2 else { return nil }
            let payload = buffer.readerIndex + headerLength
            guard buffer.getInteger(at: payload + count, endianness: .big, as: UInt16.self) == 0x0D0A else {
                throw .bulkNotTerminated(offset: offset + headerLength + count)
            }
            let bytes = buffer.getBytes(at: payload, length: count) ?? []
            return Item(length: headerLength + count + 2, kind: .value(.bulkString(bytes)))
        case UInt8(ascii: "*"):
            guard let (declared, headerLength) = try number(in: buffer) else { return nil }
            if declared == -1 { return Item(length: headerLength, kind: .value(.nullArray)) }
            guard declared >= 0 else { throw .negativeLength(declared, offset: offset) }
            guard declared <= limits.maxArrayElements else {
                throw .arrayTooLong(count: declared, limit: limits.maxArrayElements, offset: offset)
            }
            if declared == 0 { return Item(length: headerLength, kind: .value(.array([]))) }
            guard openArrays.count < limits.maxNesting else {
                throw .nestedTooDeep(limit: limits.maxNesting, offset: offset)
            }
            return Item(length: headerLength, kind: .arrayStart(count: Int(declared)))
        default:
            throw .unknownType(byte: type, offset: offset)
        }
    }

    /// Adds a finished value to the innermost open array, closing every array it fills;
    /// returns the reply once no array is left open.
    private mutating func fold(_ value: RESPValue) -> RESPValue? {
        var finished = value
        while let last = openArrays.indices.last {
            openArrays[last].elements.append(finished)
            guard openArrays[last].elements.count == openArrays[last].expected else { return nil }
            finished = .array(openArrays.removeLast().elements)
        }
        return finished
    }

    /// The longest number line: "-9223372036854775808".
    private static let numberLimit = 20

    /// The decimal number on the current item's line, and the item's length up to its CRLF included.
    private mutating func number(in buffer: ByteBuffer) throws(RESPDecodingError) -> (Int64, Int)? {
        let length: Int
        switch try line(in: buffer, limit: Self.numberLimit) {
        case .incomplete: return nil
        case .tooLong:
            let text = buffer.getString(at: buffer.readerIndex + 1, length: Self.numberLimit + 1) ?? ""
            throw .invalidNumber(text: text, offset: offset + 1)
        case .complete(let found): length = found
        }
        let value = buffer.withUnsafeReadableBytes { Self.decimal($0[1..<(1 + length)]) }
        guard let value else {
            throw .invalidNumber(text: buffer.getString(at: buffer.readerIndex + 1, length: length) ?? "", offset: offset + 1)
        }
        return (value, length + 3)
    }

    private enum LineEnd {
        /// The line's length, without the type byte before it and the CRLF after it.
        case complete(Int)
        case incomplete
        case tooLong
    }

    /// Finds the CRLF that ends the line after the current item's type byte. Resumes where the last
    /// search stopped, so a long line trickling in is not searched again from its start.
    private mutating func line(in buffer: ByteBuffer, limit: Int) throws(RESPDecodingError) -> LineEnd {
        enum Scan {
            case found(Int)
            case stray(at: Int)
            case tooLong
            case incomplete(searched: Int)
        }
        let searchFrom = 1 + lineBytesSearched
        let scan: Scan = buffer.withUnsafeReadableBytes { bytes in
            var index = searchFrom
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\r"):
                    guard index + 1 < bytes.count else { return .incomplete(searched: index - 1) }
                    return bytes[index + 1] == UInt8(ascii: "\n") ? .found(index - 1) : .stray(at: index)
                case UInt8(ascii: "\n"):
                    return .stray(at: index)
                default:
                    if index > limit { return .tooLong }
                    index += 1
                }
            }
            return .incomplete(searched: max(index - 1, 0))
        }
        switch scan {
        case .found(let length): return .complete(length)
        case .stray(let index): throw .strayLineBreak(offset: offset + index)
        case .tooLong: return .tooLong
        case .incomplete(let searched):
            lineBytesSearched = searched
            return .incomplete
        }
    }

    /// Strict decimal: an optional minus, then digits only, within Int64.
    private static func decimal(_ bytes: Slice<UnsafeRawBufferPointer>) -> Int64? {
        var digits = bytes[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in digits {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            // Negatives accumulate below zero so that Int64.min parses.
            let (shifted, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowedAgain) =
                negative
                ? shifted.subtractingReportingOverflow(Int64(digit)) : shifted.addingReportingOverflow(Int64(digit))
            guard !overflowed, !overflowedAgain else { return nil }
            value = next
        }
        return value
    }
}
