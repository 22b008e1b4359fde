import LoadGeneration
import RedisDriver
import TestSupport
import Testing

/// Seeded mutations of valid replies, and random bytes: the decoder must end every
/// case with replies, a request for more bytes, or its typed error, and the same
/// way however the bytes are split.
@Suite("RESP reply decoder under hostile input", .cpuBound)
struct RedisRESPFuzzTests {
    @Test("valid replies, their prefixes, mutations and random bytes", arguments: [1, 2, 3, 4] as [UInt64])
    func fuzz(seed: UInt64) {
        var random = SplitMix64(seed: 0x5245_5350 &+ seed)
        var counts: [String: Int] = [:]
        for _ in 0..<1000 {
            let reply = randomReply(&random)
            let valid = replyBytes(reply)
            let (label, bytes) = Self.mutate(valid, reply: reply, &random)
            let whole = decodeWhole(bytes)
            switch label {
            case "unchanged":
                #expect(whole == .replies([reply], needsMore: false), "\(reply)")
            case "truncated":
                // A prefix of a reply is never malformed: only unfinished.
                #expect(whole == .replies([], needsMore: !bytes.isEmpty), "\(bytes)")
            case "pipelined":
                #expect(whole == .replies([reply, .simpleString("OK")], needsMore: false))
            default:
                break
            }
            if case .failed(_, let error) = whole {
                #expect(error.offset >= 0 && error.offset < bytes.count, "\(error) in \(bytes.count) bytes")
            }
            #expect(decodeByteByByte(bytes) == whole, "\(label): \(bytes)")
            let split = random.int(0...bytes.count)
            #expect(decodeSplit(bytes, at: split) == whole, "\(label) split at \(split): \(bytes)")
            counts[label, default: 0] += 1
        }
        #expect(counts.count == 8, "every kind of case ran: \(counts)")
    }

    /// One case: a valid reply, altered (or not) one of several ways.
    static func mutate(_ valid: [UInt8], reply: RESPValue, _ random: inout SplitMix64) -> (String, [UInt8]) {
        var bytes = valid
        switch random.int(0..<8) {
        case 0:
            return ("unchanged", bytes)
        case 1:
            return ("truncated", Array(bytes[..<random.int(0..<bytes.count)]))
        case 2:
            return ("pipelined", bytes + Array("+OK\r\n".utf8))
        case 3:
            for _ in 0..<random.int(1...3) { bytes[random.int(0..<bytes.count)] = UInt8.random(in: 0...255, using: &random) }
            return ("flipped", bytes)
        case 4:
            let structural = Array("+-:$*\r\n0123456789".utf8)
            for _ in 0..<random.int(1...3) {
                let index = random.int(0...bytes.count)
                if random.int(0..<2) == 0 || bytes.isEmpty {
                    bytes.insert(structural.randomElement(using: &random)!, at: index)
                } else {
                    bytes.remove(at: min(index, bytes.count - 1))
                }
            }
            return ("inserted or deleted", bytes)
        case 5:
            // Lengths and counts near and beyond the limits, and past Int64.
            let header = ["$536870912", "$536870913", "*16777216", "*16777217", "$9223372036854775807",
                          "*-9223372036854775808", "$99999999999999999999999", "*-2", "$-1", "*1"]
            return ("huge header", Array((header.randomElement(using: &random)! + "\r\n").utf8) + bytes)
        case 6:
            return ("nested", Array(String(repeating: "*1\r\n", count: random.int(25...40)).utf8) + bytes)
        default:
            let alphabet = Array("+-:$*\r\n-0123456789abc".utf8)
            return ("random", (0..<random.int(0...48)).map { _ in
                random.int(0..<4) == 0 ? UInt8.random(in: 0...255, using: &random) : alphabet.randomElement(using: &random)!
            })
        }
    }
}
