import NIOCore

/// gRPC's length-prefixed messages: a flag byte (0: uncompressed), a 32-bit
/// big-endian length, then the message bytes.
enum GRPCMessageFraming {
    static let prefixLength = 5

    /// Appends one uncompressed message whose contents `writeContents` writes,
    /// filling in the length afterwards so the contents are encoded only once.
    static func writeMessage(to buffer: inout ByteBuffer, _ writeContents: (inout ByteBuffer) -> Void) {
        let prefixIndex = buffer.writerIndex
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(0))
        writeContents(&buffer)
        let length = buffer.writerIndex - prefixIndex - prefixLength
        buffer.setInteger(UInt32(truncatingIfNeeded: length), at: prefixIndex + 1)
    }
}

/// Cuts a response body, arriving in any number of pieces, into gRPC
/// messages. A message's declared length is checked against the limit as
/// soon as its prefix is in, so a lying server cannot make it buffer more.
struct GRPCMessageDeframer {
    let maxMessageSize: Int
    private var buffered: ByteBuffer?
    /// Bytes of the body consumed before `buffered`, for error offsets.
    private var consumed = 0

    init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    var bufferedByteCount: Int { buffered?.readableBytes ?? 0 }

    /// Bytes of the body cut into messages so far: where the next one begins.
    var consumedByteCount: Int { consumed }

    mutating func append(_ bytes: ByteBuffer) {
        if buffered == nil || buffered!.readableBytes == 0 {
            // The common case, one DATA frame holding the whole body: no copy.
            buffered = bytes
        } else {
            buffered!.writeImmutableBuffer(bytes)
        }
    }

    /// The next complete message, or nil until more bytes arrive.
    mutating func nextMessage() throws(GRPCFramingError) -> ByteBuffer? {
        guard var bytes = buffered, bytes.readableBytes >= GRPCMessageFraming.prefixLength else { return nil }
        let flag = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self)!
        switch flag {
        case 0: break
        case 1: throw .compressedMessage(offset: consumed)
        default: throw .invalidFlag(flag, offset: consumed)
        }
        let length = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt32.self)!
        guard UInt64(length) <= UInt64(max(maxMessageSize, 0)) else {
            throw .messageTooLarge(length: length, limit: maxMessageSize, offset: consumed)
        }
        guard bytes.readableBytes - GRPCMessageFraming.prefixLength >= Int(length) else { return nil }
        bytes.moveReaderIndex(forwardBy: GRPCMessageFraming.prefixLength)
        let message = bytes.readSlice(length: Int(length))!
        consumed += GRPCMessageFraming.prefixLength + Int(length)
        buffered = bytes
        return message
    }

    /// Fails if the body ended with part of a message still buffered.
    func finish() throws(GRPCFramingError) {
        guard let bytes = buffered, bytes.readableBytes > 0 else { return }
        var needed = GRPCMessageFraming.prefixLength
        if bytes.readableBytes >= GRPCMessageFraming.prefixLength,
            let length = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt32.self)
        {
            needed += Int(length)
        }
        throw .truncatedMessage(needed: needed, available: bytes.readableBytes, offset: consumed)
    }
}
