
@testable import LoadGeneration
import NIOCore
import NIOEmbedded
@testable import RedisDriver
import Synchronization
import Testing

/// The pairing of replies with requests, in a channel with no network.
@Suite("Redis command handler")
struct RedisCommandHandlerTests {
    /// A channel with the connection's pipeline, and a way to send through it.
    final class Harness {
        let channel = EmbeddedChannel()

        init() throws {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
            try channel.pipeline.syncOperations.addHandler(RedisCommandHandler())
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        }

        /// Writes a command; the returned outcome fills when its reply (or failure) comes.
        func send(_ words: String...) -> ReplyOutcome {
            let reply = channel.eventLoop.makePromise(of: RESPValue.self)
            var bytes = ByteBuffer()
            RESPCommandEncoder.encode(words.map { Array($0.utf8) }, into: &bytes)
            channel.writeAndFlush(RedisRequest(bytes: bytes, reply: reply), promise: nil)
            let outcome = ReplyOutcome()
            reply.futureResult.whenComplete { result in outcome.result.withLock { $0 = result } }
            return outcome
        }

        func written() throws -> String {
            var all = ""
            while let bytes = try channel.readOutbound(as: ByteBuffer.self) { all += String(buffer: bytes) }
            return all
        }
    }

    final class ReplyOutcome: Sendable {
        let result = Mutex<Result<RESPValue, any Error>?>(nil)
        var isPending: Bool { result.withLock { $0 == nil } }
        func get() throws -> RESPValue? { try result.withLock { try $0?.get() } }
        var error: (any Error)? {
            result.withLock { result in
                if case .failure(let error) = result { return error }
                return nil
            }
        }
    }

    @Test("replies complete requests in the order the requests were written")
    func inOrder() throws {
        let harness = try Harness()
        let set = harness.send("SET", "k1", "v")
        let get = harness.send("GET", "k1")
        let missing = harness.send("GET", "k2")
        #expect(try harness.written() == "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n")
        try harness.channel.writeInbound(ByteBuffer(string: "+OK\r\n$1\r\nv"))
        #expect(try set.get() == .simpleString("OK"))
        #expect(get.isPending)
        try harness.channel.writeInbound(ByteBuffer(string: "\r\n$-1\r\n"))
        #expect(try get.get() == .bulkString([UInt8(ascii: "v")]))
        #expect(try missing.get() == .nullBulkString)
        _ = try harness.channel.finish()
    }

    @Test("an error reply is handed to its request like any reply (RedisConnection throws it)")
    func errorReply() throws {
        let harness = try Harness()
        let bad = harness.send("NOPE")
        try harness.channel.writeInbound(ByteBuffer(string: "-ERR unknown command 'NOPE'\r\n"))
        #expect(try bad.get() == .error("ERR unknown command 'NOPE'"))
        _ = try harness.channel.finish()
    }

    @Test("a close fails every waiting request, and later requests at once")
    func closeFailsWaiting() throws {
        let harness = try Harness()
        let first = harness.send("GET", "a")
        let second = harness.send("GET", "b")
        try harness.channel.close().wait()
        for waiting in [first, second] {
            #expect(throws: RedisError.self) { try waiting.get() }
        }
        let late = harness.send("PING")
        #expect(throws: (any Error).self) { try late.get() }
    }

    @Test("a malformed reply fails every waiting request with the decoding error and closes")
    func malformed() throws {
        let harness = try Harness()
        let waiting = harness.send("GET", "a")
        // The handler ends the error path (it fails the waiters and closes): nothing reaches the tail.
        try harness.channel.writeInbound(ByteBuffer(string: "$-7\r\n"))
        let error = waiting.error
        guard case .malformedReply(.negativeLength(-7, offset: 0))? = error as? RedisError else {
            Issue.record("expected a malformed-reply error, got \(String(describing: error))")
            return
        }
        #expect(!harness.channel.isActive)
    }

    @Test("a reply nobody waits for closes the connection")
    func unsolicited() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!harness.channel.isActive)
    }
}
