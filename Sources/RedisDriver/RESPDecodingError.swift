/// Why bytes from a server are not a RESP2 reply. Offsets count bytes from
/// the first byte the decoder was given (on a connection: since it opened).
/// "Not enough bytes yet" is never an error: the decoder answers `nil` then.
public enum RESPDecodingError: Error, CustomStringConvertible, Sendable, Hashable {
    /// A reply began with a byte that is no RESP2 type (`+ - : $ *`).
    case unknownType(byte: UInt8, offset: Int)
    /// A line held a lone line feed, or a carriage return not followed by one.
    case strayLineBreak(offset: Int)
    /// A simple-string or error line ran past the limit without ending.
    case lineTooLong(limit: Int, offset: Int)
    /// An integer reply, or a bulk or array length, was not a 64-bit decimal number.
    case invalidNumber(text: String, offset: Int)
    /// A bulk or array length below -1.
    case negativeLength(Int64, offset: Int)
    case bulkTooLong(length: Int64, limit: Int, offset: Int)
    case arrayTooLong(count: Int64, limit: Int, offset: Int)
    case nestedTooDeep(limit: Int, offset: Int)
    /// A bulk string's bytes were not followed by CRLF: its length lied.
    case bulkNotTerminated(offset: Int)

    public var offset: Int {
        switch self {
        case .unknownType(_, let offset), .strayLineBreak(let offset), .lineTooLong(_, let offset),
            .invalidNumber(_, let offset), .negativeLength(_, let offset), .bulkTooLong(_, _, let offset),
            .arrayTooLong(_, _, let offset), .nestedTooDeep(_, let offset), .bulkNotTerminated(let offset):
            offset
        }
    }

    public var description: String {
        let problem =
            switch self {
            case .unknownType(let byte, _): "unknown reply type byte 0x\(String(byte, radix: 16, uppercase: true))"
            case .strayLineBreak: "a line break that is not CRLF"
            case .lineTooLong(let limit, _): "a line longer than \(limit) bytes"
            case .invalidNumber(let text, _): "\"\(text)\" where a 64-bit decimal number belongs"
            case .negativeLength(let length, _): "negative length \(length)"
            case .bulkTooLong(let length, let limit, _): "a bulk string of \(length) bytes (limit \(limit))"
            case .arrayTooLong(let count, let limit, _): "an array of \(count) elements (limit \(limit))"
            case .nestedTooDeep(let limit, _): "arrays nested more than \(limit) deep"
            case .bulkNotTerminated: "a bulk string not followed by CRLF (its length is wrong)"
            }
        return "malformed RESP reply: \(problem) at byte \(offset)"
    }
}
