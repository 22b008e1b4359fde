import NIOCore
import NIOEmbedded
import Testing
import Wire

/// The NIO codec: frames come out of a byte stream whole and in order however
/// it is split, and a bad frame fails its channel (whose owner then closes it)
/// without a frame after it being decoded.
@Suite struct FrameCodecTests {
    static func decoderChannel() -> EmbeddedChannel { EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder())) }

    /// Feeds `chunks` one by one and returns every frame that came out.
    func decode(chunks: [ArraySlice<UInt8>]) throws -> [Frame] {
        let channel = Self.decoderChannel()
        var frames: [Frame] = []
        for chunk in chunks {
            try channel.writeInbound(ByteBuffer(bytes: chunk))
            while let frame = try channel.readInbound(as: Frame.self) { frames.append(frame) }
        }
        #expect(try channel.finish().isClean)
        return frames
    }

    @Test func framesSplitAtEveryByteBoundaryComeOutWholeAndInOrder() throws {
        var random = RandomFrames(seed: 0xC0DEC)
        let frames = (0..<8).map { _ in random.frame() } + [.heartbeat, .hello(.client)]
        let bytes = frames.flatMap { $0.encoded() }
        #expect(bytes.count > 100)
        for split in 0...bytes.count {
            let decoded = try decode(chunks: [bytes[..<split], bytes[split...]])
            #expect(decoded == frames, "split at byte \(split) of \(bytes.count)")
        }
        #expect(try decode(chunks: bytes.indices.map { bytes[$0...$0] }) == frames, "one byte at a time")
        for _ in 0..<100 {
            var chunks: [ArraySlice<UInt8>] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + random.int(0...24))
                chunks.append(bytes[start..<end])
                start = end
            }
            #expect(try decode(chunks: chunks) == frames)
        }
    }

    @Test func aBadFrameFailsTheChannelWithItsWireErrorAndDecodingStops() throws {
        let before = Frame.request(ClientRequest(id: 1, body: .get(key: "a/b/c/d", consistency: .strong)))
        let after = Frame.heartbeat
        let bad: [UInt8] = [3, 0, 0, 0, Frame.version, 9, 0]
        let channel = Self.decoderChannel()
        // An untouched channel next to it, as another connection of the same node.
        let neighbour = Self.decoderChannel()

        #expect(throws: WireError("unknown frame kind 9")) {
            try channel.writeInbound(ByteBuffer(bytes: before.encoded() + bad + after.encoded()))
        }
        // The frame before the bad one was delivered; the one after it, in the same read, was not.
        #expect(try channel.readInbound(as: Frame.self) == before)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        // Decoding stays stopped: later bytes, even a valid frame, are refused until the owner closes the channel.
        let error = #expect(throws: ByteToMessageDecoderError.self) {
            try channel.writeInbound(ByteBuffer(bytes: after.encoded()))
        }
        if case .dataReceivedInErrorState(let first, _) = error {
            #expect(first as? WireError == WireError("unknown frame kind 9"))
        } else {
            Issue.record("unexpected \(String(describing: error))")
        }
        #expect(try channel.readInbound(as: Frame.self) == nil)
        try channel.close().wait()
        #expect(!channel.isActive)

        try neighbour.writeInbound(ByteBuffer(bytes: before.encoded() + after.encoded()))
        #expect(try neighbour.readInbound(as: Frame.self) == before)
        #expect(try neighbour.readInbound(as: Frame.self) == after)
        #expect(try neighbour.finish().isClean)
    }

    @Test func anAnnouncedLengthOutOfRangeFailsTheChannelBeforeAnyBodyArrives() throws {
        let cases: [([UInt8], String)] = [
            (withUnsafeBytes(of: UInt32(Frame.lengthMaximum + 1).littleEndian) { Array($0) },
             "frame length 67108865 exceeds the limit of 67108864 bytes"),
            ([0xFF, 0xFF, 0xFF, 0xFF], "frame length 4294967295 exceeds the limit of 67108864 bytes"),
            ([1, 0, 0, 0], "frame length 1 is too short for a version and a kind"),
            ([0, 0, 0, 0], "frame length 0 is too short for a version and a kind"),
        ]
        for (prefix, reason) in cases {
            let channel = Self.decoderChannel()
            // Three bytes of a prefix are not yet a length.
            try channel.writeInbound(ByteBuffer(bytes: prefix.prefix(3)))
            #expect(throws: WireError(reason)) { try channel.writeInbound(ByteBuffer(bytes: prefix.suffix(1))) }
            #expect(try channel.readInbound(as: Frame.self) == nil)
            try channel.close().wait()
        }
    }

    @Test func aFrameCutShortByTheEndOfTheStreamIsNeverDelivered() throws {
        let frame = Frame.request(ClientRequest(id: 1, body: .clusterInfo))
        let channel = Self.decoderChannel()
        try channel.writeInbound(ByteBuffer(bytes: frame.encoded().dropLast()))
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func theEncoderWritesEncodedFramesThatTheDecoderReadsBack() throws {
        var random = RandomFrames(seed: 0xE4C0DE)
        let frames = (0..<50).map { _ in random.frame() }
        let encoder = EmbeddedChannel(handler: MessageToByteHandler(FrameEncoder()))
        var stream = ByteBuffer()
        for frame in frames {
            try encoder.writeOutbound(frame)
            var buffer = try #require(try encoder.readOutbound(as: ByteBuffer.self))
            #expect(buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) == frame.encoded())
            stream.writeBuffer(&buffer)
        }
        #expect(try encoder.finish().isClean)

        let decoder = Self.decoderChannel()
        try decoder.writeInbound(stream)
        var decoded: [Frame] = []
        while let frame = try decoder.readInbound(as: Frame.self) { decoded.append(frame) }
        #expect(decoded == frames)
        #expect(try decoder.finish().isClean)
    }
}
