/// Why a gRPC response body is not the one length-prefixed message a unary
/// call expects. Offsets count bytes from the start of the response body.
public enum GRPCFramingError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The compressed flag was set, though the request offered no compression.
    case compressedMessage(offset: Int)
    /// The flag byte was neither 0 nor 1.
    case invalidFlag(UInt8, offset: Int)
    case messageTooLarge(length: UInt32, limit: Int, offset: Int)
    /// The body ended inside a message's prefix or contents.
    case truncatedMessage(needed: Int, available: Int, offset: Int)
    /// A second message, where a unary response has exactly one.
    case extraMessage(offset: Int)
    /// The call succeeded but the body held no message.
    case missingMessage

    public var description: String {
        switch self {
        case .compressedMessage(let offset):
            "compressed gRPC message at byte \(offset), though none was asked for"
        case .invalidFlag(let flag, let offset):
            "gRPC message flag 0x\(String(flag, radix: 16)) at byte \(offset) (only 0 and 1 exist)"
        case .messageTooLarge(let length, let limit, let offset):
            "gRPC message of \(length) bytes at byte \(offset) exceeds the limit of \(limit)"
        case .truncatedMessage(let needed, let available, let offset):
            "response body ends inside the gRPC message at byte \(offset): \(available) of \(needed) bytes"
        case .extraMessage(let offset):
            "a second gRPC message at byte \(offset) in a unary response"
        case .missingMessage:
            "a successful unary response without a message"
        }
    }
}
