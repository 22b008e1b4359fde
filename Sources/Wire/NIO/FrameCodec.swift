import NIOCore

/// Splits a byte stream into frames and decodes them. A frame that does not
/// decode fails the channel with the ``WireError`` (the pipeline's owner logs
/// it and closes that connection); nothing else is harmed.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// The largest first frame a listening node reads: a hello is a few dozen bytes,
    /// and a stranger must not make the node buffer megabytes before saying who it is.
    public static let helloBodyBytesMaximum = 4 << 10

    /// The limit on the first frame's body, or nil once it has passed (or for none).
    private var firstFrameBodyBytesMaximum: Int?
    /// Whether the connection's first frame has started to arrive (before it, TLS bytes are recognised).
    private var sawFirstFrame = false

    /// `firstFrameBodyBytesMaximum`: on a listening node's connections,
    /// ``helloBodyBytesMaximum``, so that nothing large is read before the hello.
    public init(firstFrameBodyBytesMaximum: Int? = nil) {
        self.firstFrameBodyBytesMaximum = firstFrameBodyBytesMaximum
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let prefix = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else {
            return .needMoreData
        }
        if !sawFirstFrame {
            // TLS where a frame should be: say so, rather than report a nonsensical frame length.
            let first = UInt8(truncatingIfNeeded: prefix)
            if first == 0x15 || first == 0x16 {
                guard let start = buffer.getBytes(at: buffer.readerIndex, length: 5) else { return .needMoreData }
                if Frame.isTLSRecord(start) { throw WireError(Frame.tlsOnPlaintext) }
            }
            sawFirstFrame = true
        }
        let length = try Frame.bodyLength(prefix: prefix)
        if let limit = firstFrameBodyBytesMaximum {
            guard length <= limit else {
                throw WireError("the first frame is \(length) bytes; before its hello a connection may send at most \(limit)")
            }
            if buffer.readableBytes >= Frame.headerBytes + length { firstFrameBodyBytesMaximum = nil }
        }
        guard buffer.readableBytes >= Frame.headerBytes + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: Frame.headerBytes)
        let body = buffer.readBytes(length: length)!
        context.fireChannelRead(wrapInboundOut(try Frame(body: body)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Encodes outgoing frames.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    public init() {}

    public func encode(data: Frame, out: inout ByteBuffer) throws {
        out.writeBytes(data.encoded())
    }
}
