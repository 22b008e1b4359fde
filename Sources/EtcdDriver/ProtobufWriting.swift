import NIOCore

/// Protobuf encoding straight into the buffer that goes on the wire, so a
/// request costs no intermediate arrays. Proto3 leaves fields at their
/// default value off the wire, and so do these writers.
extension ByteBuffer {
    mutating func writeProtobufVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        writeInteger(UInt8(rest))
    }

    mutating func writeProtobufTag(field: Int, _ wireType: ProtobufWireType) {
        writeProtobufVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// A `bytes` field.
    mutating func writeProtobufBytes(field: Int, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        writeProtobufTag(field: field, .lengthDelimited)
        writeProtobufVarint(UInt64(bytes.count))
        writeBytes(bytes)
    }

    /// A `bytes` or `string` field holding `text` as UTF-8.
    mutating func writeProtobufUTF8(field: Int, _ text: String) {
        let length = text.utf8.count
        guard length > 0 else { return }
        writeProtobufTag(field: field, .lengthDelimited)
        writeProtobufVarint(UInt64(length))
        writeString(text)
    }

    mutating func writeProtobufBool(field: Int, _ value: Bool) {
        guard value else { return }
        writeProtobufTag(field: field, .varint)
        writeInteger(UInt8(1))
    }
}
