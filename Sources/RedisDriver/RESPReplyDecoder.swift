import NIOCore

/// The channel's side of ``RESPReplyParser``: one `RESPValue` per reply. A
/// malformed reply fails the channel with the ``RESPDecodingError``.
struct RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private var parser: RESPReplyParser

    init(limits: RESPLimits = RESPLimits()) { parser = RESPReplyParser(limits: limits) }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try parser.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A reply cut off by the close is not an error of its own: whoever waited for it
        // learns that the connection closed.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
