import LoadGeneration
import NIOCore
import RedisDriver
import TestSupport

/// What decoding a whole stream came to: the replies before the end or the first error.
enum RESPStreamOutcome: Equatable, CustomStringConvertible {
    /// `needsMore`: the stream ended inside a reply.
    case replies([RESPValue], needsMore: Bool)
    case failed(after: [RESPValue], RESPDecodingError)

    var description: String {
        switch self {
        case .replies(let replies, let needsMore): "\(replies)\(needsMore ? " + needs more" : "")"
        case .failed(let replies, let error): "\(replies) then \(error)"
        }
    }
}

/// Feeds `chunks` one after another to one parser, as a connection would receive them.
func decodeStream(_ chunks: [ArraySlice<UInt8>], limits: RESPLimits = RESPLimits()) -> RESPStreamOutcome {
    var parser = RESPReplyParser(limits: limits)
    var buffer = ByteBuffer()
    var replies: [RESPValue] = []
    for chunk in chunks {
        buffer.writeBytes(chunk)
        do throws(RESPDecodingError) {
            while let reply = try parser.next(from: &buffer) { replies.append(reply) }
        } catch {
            return .failed(after: replies, error)
        }
    }
    return .replies(replies, needsMore: buffer.readableBytes > 0 || parser.isInsideReply)
}

func decodeWhole(_ bytes: [UInt8], limits: RESPLimits = RESPLimits()) -> RESPStreamOutcome {
    decodeStream([bytes[...]], limits: limits)
}

func decodeByteByByte(_ bytes: [UInt8], limits: RESPLimits = RESPLimits()) -> RESPStreamOutcome {
    decodeStream(bytes.indices.map { bytes[$0...$0] }, limits: limits)
}

func decodeSplit(_ bytes: [UInt8], at split: Int, limits: RESPLimits = RESPLimits()) -> RESPStreamOutcome {
    decodeStream([bytes[..<split], bytes[split...]], limits: limits)
}

/// A reply as Redis would send it (the tests' reference encoder, written independently of the parser).
func replyBytes(_ value: RESPValue) -> [UInt8] {
    switch value {
    case .simpleString(let text): Array("+\(text)\r\n".utf8)
    case .error(let message): Array("-\(message)\r\n".utf8)
    case .integer(let number): Array(":\(number)\r\n".utf8)
    case .bulkString(let bytes): Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
    case .nullBulkString: Array("$-1\r\n".utf8)
    case .array(let elements): Array("*\(elements.count)\r\n".utf8) + elements.flatMap(replyBytes)
    case .nullArray: Array("*-1\r\n".utf8)
    }
}

/// A random reply of every type, arrays at most `depth` deep, small enough to feed byte by byte.
func randomReply(_ random: inout SplitMix64, depth: Int = 3) -> RESPValue {
    let line = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'_-:+$*"
    func text(_ random: inout SplitMix64) -> String {
        String((0..<random.int(0...24)).map { _ in line.randomElement(using: &random)! })
    }
    switch random.int(0..<(depth > 0 ? 8 : 6)) {
    case 0: return .simpleString(text(&random))
    case 1: return .error("ERR " + text(&random))
    case 2: return .integer(random.int(0..<4) == 0 ? Int64(bitPattern: random.next()) : Int64(random.int(-1000...1000)))
    case 3: return .bulkString((0..<random.int(0...40)).map { _ in UInt8.random(in: 0...255, using: &random) })
    case 4: return .nullBulkString
    case 5: return random.int(0..<2) == 0 ? .nullArray : .array([])
    default: return .array((0..<random.int(1...4)).map { _ in randomReply(&random, depth: depth - 1) })
    }
}
