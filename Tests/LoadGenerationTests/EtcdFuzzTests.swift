
@testable import EtcdDriver
@testable import LoadGeneration
import NIOCore
import TestSupport
import Testing

/// Seeded mutations of valid etcd responses and gRPC bodies, and random
/// bytes: the decoders must end every case with a value or their typed
/// error (offset inside the input), never a crash or a read past the end.
@Suite("etcd response decoders under hostile input", .cpuBound)
struct EtcdFuzzTests {
    // MARK: - Protobuf

    /// A random RangeResponse with unknown fields of every wire type mixed in, and what it says.
    static func randomRangeResponse(_ random: inout SplitMix64) -> (bytes: [UInt8], count: Int64, kvs: Int, member: UInt64) {
        var buffer = ByteBuffer()
        let member = random.next() >> random.int(0...63)
        let kvs = random.int(0...3)
        let count = Int64(random.int(0...5))
        var header = ByteBuffer()
        header.writeProtobufTag(field: 1, .varint)
        header.writeProtobufVarint(random.next())
        header.writeProtobufTag(field: 2, .varint)
        header.writeProtobufVarint(member)
        writeUnknownField(&header, &random)
        buffer.writeProtobufTag(field: 1, .lengthDelimited)
        buffer.writeProtobufVarint(UInt64(header.readableBytes))
        buffer.writeImmutableBuffer(header)
        for index in 0..<kvs {
            writeUnknownField(&buffer, &random)
            let value = (0..<random.int(0...40)).map { _ in UInt8.random(in: 0...255, using: &random) }
            var keyValue = ByteBuffer()
            keyValue.writeProtobufUTF8(field: 1, "k\(index)")
            keyValue.writeProtobufBytes(field: 5, value)
            buffer.writeProtobufTag(field: 2, .lengthDelimited)
            buffer.writeProtobufVarint(UInt64(keyValue.readableBytes))
            buffer.writeImmutableBuffer(keyValue)
        }
        writeUnknownField(&buffer, &random)
        if count > 0 {
            buffer.writeProtobufTag(field: 4, .varint)
            buffer.writeProtobufVarint(UInt64(count))
        }
        return (Array(buffer.readableBytesView), count, kvs, member)
    }

    /// One field this schema does not have, of a random wire type (groups included).
    static func writeUnknownField(_ buffer: inout ByteBuffer, _ random: inout SplitMix64) {
        let field = random.int(20...100_000)
        switch random.int(0..<6) {
        case 0:
            buffer.writeProtobufTag(field: field, .varint)
            buffer.writeProtobufVarint(random.next() >> random.int(0...63))
        case 1:
            buffer.writeProtobufTag(field: field, .fixed32)
            buffer.writeInteger(UInt32(truncatingIfNeeded: random.next()))
        case 2:
            buffer.writeProtobufTag(field: field, .fixed64)
            buffer.writeInteger(random.next())
        case 3:
            buffer.writeProtobufTag(field: field, .lengthDelimited)
            let length = random.int(0...20)
            buffer.writeProtobufVarint(UInt64(length))
            for _ in 0..<length { buffer.writeInteger(UInt8.random(in: 0...255, using: &random)) }
        case 4:
            buffer.writeProtobufTag(field: field, .startGroup)
            buffer.writeProtobufTag(field: 1, .varint)
            buffer.writeProtobufVarint(7)
            buffer.writeProtobufTag(field: 2, .startGroup)
            buffer.writeProtobufTag(field: 2, .endGroup)
            buffer.writeProtobufTag(field: field, .endGroup)
        default:
            break
        }
    }

    /// A valid input altered (or not) one of several ways.
    static func mutate(_ valid: [UInt8], _ random: inout SplitMix64) -> (String, [UInt8]) {
        var bytes = valid
        switch random.int(0..<7) {
        case 0:
            return ("unchanged", bytes)
        case 1:
            return ("truncated", Array(bytes[..<random.int(0...bytes.count)]))
        case 2:
            guard !bytes.isEmpty else { return ("unchanged", bytes) }
            for _ in 0..<random.int(1...3) { bytes[random.int(0..<bytes.count)] = UInt8.random(in: 0...255, using: &random) }
            return ("flipped", bytes)
        case 3:
            // Bytes that are tags, lengths and continuation bits: the ones that steer a decoder.
            let structural: [UInt8] = [0x80, 0xFF, 0x7F, 0x0A, 0x12, 0x20, 0x0B, 0x0C, 0x73, 0x74, 0x05, 0x01, 0x00]
            for _ in 0..<random.int(1...4) {
                bytes.insert(structural.randomElement(using: &random)!, at: random.int(0...bytes.count))
            }
            return ("inserted", bytes)
        case 4:
            guard !bytes.isEmpty else { return ("unchanged", bytes) }
            let start = random.int(0..<bytes.count)
            let end = random.int(start...bytes.count)
            bytes.insert(contentsOf: bytes[start..<end], at: random.int(0...bytes.count))
            return ("duplicated", bytes)
        case 5:
            // Declared lengths that lie: a huge varint where a length was.
            bytes.insert(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], at: random.int(0...bytes.count))
            return ("lying", bytes)
        default:
            return ("random", (0..<random.int(0...64)).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
    }

    /// The bytes in a buffer whose reader index is not 0, as a slice of a larger read is.
    static func offsetBuffer(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer(bytes: [0x12, 0xFF, 0x80] + bytes + [0x0A, 0xFF])
        buffer.moveReaderIndex(forwardBy: 3)
        buffer.moveWriterIndex(to: buffer.writerIndex - 2)
        return buffer
    }

    static func check(_ error: ProtobufDecodingError, within bytes: [UInt8]) {
        // At most the input's length: a value cut off by the end begins there.
        #expect(error.offset >= 0 && error.offset <= bytes.count, "\(error) in \(bytes.count) bytes")
        #expect(!error.description.isEmpty)
    }

    @Test("protobuf responses: valid, mutated, truncated and random", arguments: [1, 2, 3, 4] as [UInt64])
    func protobuf(seed: UInt64) {
        var random = SplitMix64(seed: 0x6574_6364 &+ seed)
        var labels: [String: Int] = [:]
        for _ in 0..<1000 {
            let response = Self.randomRangeResponse(&random)
            let (label, bytes) = Self.mutate(response.bytes, &random)
            labels[label, default: 0] += 1
            let buffer = Self.offsetBuffer(bytes)
            do {
                let summary = try EtcdResponseDecoding.decodeRangeResponse(buffer)
                if label == "unchanged" {
                    #expect(summary.count == response.count && summary.keyValueCount == response.kvs)
                    #expect(summary.header.memberID == response.member)
                }
            } catch {
                #expect(label != "unchanged", "\(error) in a valid response")
                Self.check(error, within: bytes)
            }
            // The other decoders walk the same bytes by other schemas: values or typed errors too.
            do { _ = try EtcdResponseDecoding.decodeStatusResponse(buffer) } catch { Self.check(error, within: bytes) }
            do { _ = try EtcdResponseDecoding.decodePutResponse(buffer) } catch { Self.check(error, within: bytes) }
        }
        #expect(labels.count == 7, "every kind of case ran: \(labels)")
    }

    // MARK: - gRPC framing

    static func deframe(_ bytes: [UInt8], cuts: [Int], limit: Int) -> Result<[[UInt8]], GRPCFramingError> {
        var deframer = GRPCMessageDeframer(maxMessageSize: limit)
        var messages: [[UInt8]] = []
        var start = 0
        do throws(GRPCFramingError) {
            for end in cuts + [bytes.count] where end >= start {
                deframer.append(ByteBuffer(bytes: bytes[start..<end]))
                start = end
                while let message = try deframer.nextMessage() { messages.append(Array(message.readableBytesView)) }
            }
            try deframer.finish()
            return .success(messages)
        } catch {
            return .failure(error)
        }
    }

    @Test("gRPC bodies: valid, mutated, truncated and random, in random pieces", arguments: [1, 2, 3, 4] as [UInt64])
    func framing(seed: UInt64) {
        var random = SplitMix64(seed: 0x6772_7063 &+ seed)
        for _ in 0..<1000 {
            let messages = (0..<random.int(1...3)).map { _ in
                (0..<random.int(0...30)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            var valid: [UInt8] = []
            for message in messages { valid += [0] + withUnsafeBytes(of: UInt32(message.count).bigEndian, Array.init) + message }
            let (label, bytes) = Self.mutate(valid, &random)
            let limit = random.int(0..<4) == 0 ? random.int(0...20) : 64
            let whole = Self.deframe(bytes, cuts: [], limit: limit)
            let cuts = (0..<random.int(0...4)).map { _ in random.int(0...bytes.count) }.sorted()
            #expect(Self.deframe(bytes, cuts: cuts, limit: limit) == whole, "\(label) cut at \(cuts): \(bytes)")
            switch whole {
            case .success(let decoded):
                if label == "unchanged" && limit == 64 { #expect(decoded == messages) }
            case .failure(let error):
                #expect(!(label == "unchanged" && limit == 64), "\(error) in a valid body")
                if case .messageTooLarge(_, _, let offset) = error { #expect(offset < bytes.count) }
                #expect(!error.description.isEmpty)
            }
        }
    }
}
