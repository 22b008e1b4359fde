import NIOCore
import NIOEmbedded
import Testing
import Wire

/// A listening node reads nothing large before the hello: a stranger's 64 MiB
/// length prefix fails the connection at once, before any of its body is buffered.
@Suite struct HelloFirstTests {
    static func acceptedChannel() -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(firstFrameBodyBytesMaximum: FrameDecoder.helloBodyBytesMaximum)))
    }

    static let largeRequest = Frame.request(ClientRequest(id: 1, body: .write(
        clientID: 9, sequence: 1, acknowledgedBelow: 0,
        writes: [WireWrite(key: "acme/users/rnd/alice", value: [UInt8](repeating: 0x5A, count: 100_000))])))

    @Test func aLargeFirstFrameFailsBeforeItsBodyArrives() throws {
        let channel = Self.acceptedChannel()
        var prefix = ByteBuffer()
        prefix.writeInteger(UInt32(64 << 20), endianness: .little)
        #expect(throws: WireError.self) { try channel.writeInbound(prefix) }
        _ = try? channel.finish()
    }

    @Test func aFirstFrameJustOverTheHelloLimitFails() throws {
        let channel = Self.acceptedChannel()
        var prefix = ByteBuffer()
        prefix.writeInteger(UInt32(FrameDecoder.helloBodyBytesMaximum + 1), endianness: .little)
        #expect(throws: WireError.self) { try channel.writeInbound(prefix) }
        _ = try? channel.finish()
    }

    @Test func afterTheHelloLargeFramesPass() throws {
        let channel = Self.acceptedChannel()
        let hello = Frame.hello(.peer(memberID: "node-2", clusterFingerprint: 42))
        let large = Self.largeRequest
        #expect(large.encoded().count > 64 << 10)
        // Split so that the hello's last byte and the next frame arrive together.
        let bytes = hello.encoded() + large.encoded() + Frame.heartbeat.encoded()
        for split in [1, hello.encoded().count - 1, hello.encoded().count, hello.encoded().count + 3] {
            let channel = Self.acceptedChannel()
            try channel.writeInbound(ByteBuffer(bytes: bytes[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: bytes[split...]))
            var frames: [Frame] = []
            while let frame = try channel.readInbound(as: Frame.self) { frames.append(frame) }
            #expect(frames == [hello, large, .heartbeat], "split at \(split)")
            #expect(try channel.finish().isClean)
        }
        _ = try? channel.finish()
    }

    /// Without the limit (a node's own outgoing links, clients) the first frame may be large.
    @Test func withoutTheLimitTheFirstFrameMayBeLarge() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        let frame = Self.largeRequest
        try channel.writeInbound(ByteBuffer(bytes: frame.encoded()))
        #expect(try channel.readInbound(as: Frame.self) == frame)
        #expect(try channel.finish().isClean)
    }
}
