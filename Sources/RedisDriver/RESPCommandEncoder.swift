import NIOCore

/// Encodes commands the way every Redis client sends them: an array of bulk
/// strings (`*3\r\n$3\r\nSET\r\n...`), binary-safe whatever the arguments hold.
public enum RESPCommandEncoder {
    public static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        var size = 16
        for argument in arguments { size += argument.count + 16 }
        buffer.reserveCapacity(minimumWritableBytes: size)
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            writeHeader(UInt8(ascii: "$"), argument.count, into: &buffer)
            buffer.writeBytes(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    public static func encoded(_ arguments: [[UInt8]]) -> [UInt8] {
        var buffer = ByteBuffer()
        encode(arguments, into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    /// `*<count>\r\n` or `$<length>\r\n`. `String(count)` fits a small string, so this does not allocate.
    private static func writeHeader(_ type: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        buffer.writeString(String(count))
        buffer.writeStaticString("\r\n")
    }
}
