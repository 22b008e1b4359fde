
@testable import LoadGeneration
import NIOCore
import NIOEmbedded
@testable import RedisDriver
import Testing

@Suite("RESP reply decoder")
struct RedisRESPDecoderTests {
    /// One reply of each type and shape, as bytes and as the value they stand for.
    static let samples: [(bytes: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO', with args beginning with: \r\n", .error("ERR unknown command 'FOO', with args beginning with: ")),
        ("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
         .error("WRONGTYPE Operation against a key holding the wrong kind of value")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$4\r\n\r\n\r\n\r\n", .bulkString(Array("\r\n\r\n".utf8))),
        ("$-1\r\n", .nullBulkString),
        ("*0\r\n", .array([])),
        ("*-1\r\n", .nullArray),
        ("*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n",
         .array([.bulkString(Array("appendfsync".utf8)), .bulkString(Array("always".utf8))])),
        ("*5\r\n+a\r\n-b\r\n:3\r\n$-1\r\n*-1\r\n",
         .array([.simpleString("a"), .error("b"), .integer(3), .nullBulkString, .nullArray])),
        ("*3\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n*0\r\n*1\r\n*1\r\n:7\r\n",
         .array([.array([.integer(1), .array([.bulkString([UInt8(ascii: "x")])])]), .array([]),
                 .array([.array([.integer(7)])])])),
    ]

    @Test("every reply type decodes from one buffer, consuming exactly its bytes")
    func wholeReplies() throws {
        for sample in Self.samples {
            var parser = RESPReplyParser()
            var buffer = ByteBuffer(string: sample.bytes + "+next\r\n")
            #expect(try parser.next(from: &buffer) == sample.value, "\(sample.bytes.debugDescription)")
            #expect(buffer.readableBytes == 7, "\(sample.bytes.debugDescription)")
            #expect(!parser.isInsideReply)
        }
    }

    @Test("a reply split at any byte, or fed one byte at a time, decodes the same")
    func everySplit() {
        for sample in Self.samples {
            let bytes = Array(sample.bytes.utf8)
            let expected = RESPStreamOutcome.replies([sample.value], needsMore: false)
            #expect(decodeByteByByte(bytes) == expected, "\(sample.bytes.debugDescription)")
            for split in 0...bytes.count {
                #expect(decodeSplit(bytes, at: split) == expected, "\(sample.bytes.debugDescription) split at \(split)")
                guard split < bytes.count else { continue }
                #expect(decodeWhole(Array(bytes[..<split])) == .replies([], needsMore: split > 0),
                        "prefix of \(split) bytes of \(sample.bytes.debugDescription)")
            }
        }
    }

    @Test("replies back to back come out in order")
    func stream() {
        let stream = Self.samples.flatMap { Array($0.bytes.utf8) }
        let expected = RESPStreamOutcome.replies(Self.samples.map(\.value), needsMore: false)
        #expect(decodeWhole(stream) == expected)
        #expect(decodeByteByByte(stream) == expected)
    }

    /// Malformed input and the error it must give, whole or byte by byte.
    static let malformed: [(bytes: String, error: RESPDecodingError)] = [
        ("?\r\n", .unknownType(byte: UInt8(ascii: "?"), offset: 0)),
        ("%1\r\n", .unknownType(byte: UInt8(ascii: "%"), offset: 0)),  // RESP3 map: not spoken here
        ("+OK\nx", .strayLineBreak(offset: 3)),
        ("+OK\rx\n", .strayLineBreak(offset: 3)),
        (":12a\r\n", .invalidNumber(text: "12a", offset: 1)),
        (":\r\n", .invalidNumber(text: "", offset: 1)),
        (":-\r\n", .invalidNumber(text: "-", offset: 1)),
        (":+5\r\n", .invalidNumber(text: "+5", offset: 1)),
        (":9223372036854775808\r\n", .invalidNumber(text: "9223372036854775808", offset: 1)),
        (":123456789012345678901234\r\n", .invalidNumber(text: "123456789012345678901", offset: 1)),
        ("$-2\r\n", .negativeLength(-2, offset: 0)),
        ("*-5\r\n", .negativeLength(-5, offset: 0)),
        ("$536870913\r\n", .bulkTooLong(length: 536_870_913, limit: 512 * 1024 * 1024, offset: 0)),
        ("*16777217\r\n", .arrayTooLong(count: 16_777_217, limit: 1 << 24, offset: 0)),
        ("$3\r\nabcd\r\n", .bulkNotTerminated(offset: 7)),
        ("$3\r\nab\r\n\r\n", .bulkNotTerminated(offset: 7)),
        (String(repeating: "*1\r\n", count: 33) + ":1\r\n", .nestedTooDeep(limit: 32, offset: 128)),
        ("*2\r\n:1\r\n:x\r\n", .invalidNumber(text: "x", offset: 9)),
        ("+OK\r\n+fine\r\n!", .unknownType(byte: UInt8(ascii: "!"), offset: 12)),
    ]

    @Test("malformed replies give the typed error at the byte at fault, however they arrive")
    func malformedReplies() {
        for sample in Self.malformed {
            let bytes = Array(sample.bytes.utf8)
            let whole = decodeWhole(bytes)
            guard case .failed(_, let error) = whole else {
                Issue.record("\(sample.bytes.debugDescription) decoded as \(whole)")
                continue
            }
            #expect(error == sample.error, "\(sample.bytes.debugDescription)")
            #expect(decodeByteByByte(bytes) == whole, "\(sample.bytes.debugDescription)")
            #expect(error.description.contains("byte \(sample.error.offset)"))
        }
    }

    @Test("nesting up to the limit is fine")
    func deepestNesting() {
        let bytes = Array((String(repeating: "*1\r\n", count: 32) + ":1\r\n").utf8)
        let expected = (0..<32).reduce(RESPValue.integer(1)) { inner, _ in .array([inner]) }
        #expect(decodeWhole(bytes) == .replies([expected], needsMore: false))
    }

    @Test("a line longer than the limit fails once the limit is passed, without its end")
    func longLine() {
        let limits = RESPLimits(maxLineBytes: 8)
        #expect(decodeWhole(Array("+12345678\r\n".utf8), limits: limits) == .replies([.simpleString("12345678")], needsMore: false))
        #expect(decodeWhole(Array("+123456789".utf8), limits: limits) == .failed(after: [], .lineTooLong(limit: 8, offset: 0)))
        #expect(decodeByteByByte(Array("+123456789".utf8), limits: limits) == .failed(after: [], .lineTooLong(limit: 8, offset: 0)))
    }

    @Test("huge declared lengths wait for their bytes without consuming or reserving anything")
    func hugeDeclaredLengths() throws {
        var parser = RESPReplyParser()
        var bulk = ByteBuffer(string: "$536870912\r\nabc")
        let capacity = bulk.capacity
        #expect(try parser.next(from: &bulk) == nil)
        #expect(bulk.readableBytes == 15 && bulk.capacity == capacity)

        var arrays = RESPReplyParser()
        var array = ByteBuffer(string: "*16777216\r\n*16777216\r\n:1\r\n")
        #expect(try arrays.next(from: &array) == nil)
        #expect(arrays.isInsideReply && array.readableBytes == 0)
    }

    @Test("after an error every later call throws it again")
    func errorSticks() {
        var parser = RESPReplyParser()
        var buffer = ByteBuffer(string: "?")
        #expect(throws: RESPDecodingError.unknownType(byte: UInt8(ascii: "?"), offset: 0)) { try parser.next(from: &buffer) }
        buffer.writeString("+OK\r\n")
        #expect(throws: RESPDecodingError.unknownType(byte: UInt8(ascii: "?"), offset: 0)) { try parser.next(from: &buffer) }
    }

    @Test("in a channel, replies are read one by one and malformed bytes fail the channel")
    func channelDecoder() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n$3\r\nab"))
        #expect(try channel.readInbound(as: RESPValue.self) == .simpleString("OK"))
        #expect(try channel.readInbound(as: RESPValue.self) == nil)
        try channel.writeInbound(ByteBuffer(string: "c\r\n"))
        #expect(try channel.readInbound(as: RESPValue.self) == .bulkString(Array("abc".utf8)))
        #expect(throws: RESPDecodingError.unknownType(byte: UInt8(ascii: "x"), offset: 14)) {
            try channel.writeInbound(ByteBuffer(string: "x"))
        }
        _ = try? channel.finish()
    }
}
