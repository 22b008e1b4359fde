/// One RESP2 reply, as Redis sends it.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`: a status line. Redis sends ASCII here; other bytes are decoded leniently.
    case simpleString(String)
    /// `-ERR unknown command`: an error reply, its whole line (the error code is its first word).
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$3 abc`: binary-safe bytes.
    case bulkString([UInt8])
    /// `$-1`: what `GET` answers for a missing key.
    case nullBulkString
    /// `*2 ...`: elements of any type, arrays included.
    case array([RESPValue])
    /// `*-1`: what a timed-out `BLPOP` answers.
    case nullArray
}

extension RESPValue: CustomStringConvertible {
    /// A short, readable rendering for error messages: long bulk strings and arrays are elided.
    public var description: String {
        switch self {
        case .simpleString(let text): "+\(text)"
        case .error(let message): "-\(message)"
        case .integer(let value): ":\(value)"
        case .bulkString(let bytes):
            bytes.count <= 64
                ? "$\"\(String(decoding: bytes, as: UTF8.self))\"" : "$<\(bytes.count) bytes>"
        case .nullBulkString: "$-1 (null)"
        case .array(let elements):
            elements.count <= 8
                ? "[\(elements.map(\.description).joined(separator: ", "))]" : "[<\(elements.count) elements>]"
        case .nullArray: "*-1 (null)"
        }
    }
}
