/// Why bytes from a server are not the protobuf message expected. Offsets
/// count bytes from the start of the outermost message decoded; `field` is
/// the number of the field being read, nil while reading a tag.
public enum ProtobufDecodingError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The buffer ended inside a varint.
    case truncatedVarint(message: String, field: Int?, offset: Int)
    /// A varint ran past ten bytes, the most a 64-bit value takes.
    case overlongVarint(message: String, field: Int?, offset: Int)
    /// A tag named field 0, or one above 2^29 - 1.
    case invalidFieldNumber(message: String, number: UInt64, offset: Int)
    /// A tag's wire type was 6 or 7, which no protobuf version defines.
    case invalidWireType(message: String, field: Int, wireType: UInt8, offset: Int)
    /// A field this decoder knows came with another wire type than its schema's.
    case wrongWireType(message: String, field: Int, expected: ProtobufWireType, found: ProtobufWireType, offset: Int)
    /// A length-delimited field declared more bytes than the buffer holds.
    case lengthBeyondBuffer(message: String, field: Int, declared: UInt64, available: Int, offset: Int)
    /// A fixed32 or fixed64 field was cut short.
    case truncatedFixed(message: String, field: Int, width: Int, available: Int, offset: Int)
    /// An end-group tag with no group open, or closing another field's group.
    case unexpectedEndGroup(message: String, field: Int, offset: Int)
    /// The buffer ended inside a group.
    case unterminatedGroup(message: String, field: Int, offset: Int)
    case groupsNestedTooDeep(message: String, limit: Int, offset: Int)

    public var offset: Int {
        switch self {
        case .truncatedVarint(_, _, let offset), .overlongVarint(_, _, let offset),
            .invalidFieldNumber(_, _, let offset), .invalidWireType(_, _, _, let offset),
            .wrongWireType(_, _, _, _, let offset), .lengthBeyondBuffer(_, _, _, _, let offset),
            .truncatedFixed(_, _, _, _, let offset), .unexpectedEndGroup(_, _, let offset),
            .unterminatedGroup(_, _, let offset), .groupsNestedTooDeep(_, _, let offset):
            offset
        }
    }

    public var description: String {
        switch self {
        case .truncatedVarint(let message, let field, let offset):
            "\(message)\(Self.naming(field)): the varint at byte \(offset) runs past the end of the input"
        case .overlongVarint(let message, let field, let offset):
            "\(message)\(Self.naming(field)): varint at byte \(offset) is longer than 10 bytes"
        case .invalidFieldNumber(let message, let number, let offset):
            "\(message): invalid field number \(number) in the tag at byte \(offset)"
        case .invalidWireType(let message, let field, let wireType, let offset):
            "\(message) field \(field): undefined wire type \(wireType) in the tag at byte \(offset)"
        case .wrongWireType(let message, let field, let expected, let found, let offset):
            "\(message) field \(field): wire type \(found) where the schema says \(expected), tag at byte \(offset)"
        case .lengthBeyondBuffer(let message, let field, let declared, let available, let offset):
            "\(message) field \(field): declares \(declared) bytes at byte \(offset) but only \(available) follow"
        case .truncatedFixed(let message, let field, let width, let available, let offset):
            "\(message) field \(field): needs \(width) bytes at byte \(offset) but only \(available) follow"
        case .unexpectedEndGroup(let message, let field, let offset):
            "\(message) field \(field): end-group tag at byte \(offset) closes no open group"
        case .unterminatedGroup(let message, let field, let offset):
            "\(message) field \(field): group opened at byte \(offset) never ends"
        case .groupsNestedTooDeep(let message, let limit, let offset):
            "\(message): groups nested more than \(limit) deep at byte \(offset)"
        }
    }

    private static func naming(_ field: Int?) -> String {
        field.map { " field \($0)" } ?? " tag"
    }
}
