
@testable import EtcdDriver
@testable import LoadGeneration
import NIOCore
import Testing

/// gRPC's length-prefixed messages, and grpc-message's percent-encoding.
@Suite("gRPC message framing")
struct EtcdGRPCFramingTests {
    /// Every message the deframer yields from `bytes` fed in `pieces`, or its error.
    static func deframe(_ pieces: [[UInt8]], limit: Int = 1024) -> Result<[[UInt8]], GRPCFramingError> {
        var deframer = GRPCMessageDeframer(maxMessageSize: limit)
        var messages: [[UInt8]] = []
        do throws(GRPCFramingError) {
            for piece in pieces {
                deframer.append(ByteBuffer(bytes: piece))
                while let message = try deframer.nextMessage() { messages.append(Array(message.readableBytesView)) }
            }
            try deframer.finish()
            return .success(messages)
        } catch {
            return .failure(error)
        }
    }

    @Test("one message, whole or split at every byte; two back to back")
    func deframes() {
        let frame: [UInt8] = [0, 0, 0, 0, 3, 7, 8, 9]
        #expect(Self.deframe([frame]) == .success([[7, 8, 9]]))
        for split in 0...frame.count {
            #expect(Self.deframe([Array(frame[..<split]), Array(frame[split...])]) == .success([[7, 8, 9]]), "split at \(split)")
        }
        #expect(Self.deframe(frame.map { [$0] }) == .success([[7, 8, 9]]))
        #expect(Self.deframe([frame + [0, 0, 0, 0, 0]]) == .success([[7, 8, 9], []]))
        #expect(Self.deframe([]) == .success([]))
    }

    @Test("compressed, unknown flags, oversized and truncated messages are refused")
    func refuses() {
        #expect(Self.deframe([[0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 5]]) == .failure(.compressedMessage(offset: 5)))
        #expect(Self.deframe([[2, 0, 0, 0, 1, 5]]) == .failure(.invalidFlag(2, offset: 0)))
        // Refused on its prefix alone: the 2 GiB are never waited for.
        #expect(Self.deframe([[0, 0x80, 0, 0, 0]], limit: 1024) == .failure(.messageTooLarge(length: 1 << 31, limit: 1024, offset: 0)))
        #expect(Self.deframe([[0, 0, 0, 4, 1]], limit: 1024) == .failure(.messageTooLarge(length: 1025, limit: 1024, offset: 0)))
        #expect(Self.deframe([[0, 0, 0, 4, 0]], limit: 1024) == .failure(.truncatedMessage(needed: 1029, available: 5, offset: 0)))
        #expect(Self.deframe([[0, 0, 0]]) == .failure(.truncatedMessage(needed: 5, available: 3, offset: 0)))
        #expect(Self.deframe([[0, 0, 0, 0, 1, 9, 0, 0]]) == .failure(.truncatedMessage(needed: 5, available: 2, offset: 6)))
        #expect("\(GRPCFramingError.compressedMessage(offset: 5))".contains("byte 5"))
    }

    @Test("grpc-message is percent-decoded; malformed escapes stay as sent")
    func percentDecoding() {
        #expect(GRPCStatus.percentDecoded("etcdserver: too many requests") == "etcdserver: too many requests")
        #expect(GRPCStatus.percentDecoded("a%20b%25c") == "a b%c")
        #expect(GRPCStatus.percentDecoded("caf%C3%A9") == "café")
        #expect(GRPCStatus.percentDecoded("100%") == "100%")
        #expect(GRPCStatus.percentDecoded("%zz%4") == "%zz%4")
        #expect(GRPCStatus.percentDecoded("%41") == "A")
        #expect(GRPCStatus(code: 14, message: "down").description == "gRPC status 14 UNAVAILABLE: down")
        #expect(GRPCStatus(code: 99, message: "").codeName == "code 99")
    }
}
