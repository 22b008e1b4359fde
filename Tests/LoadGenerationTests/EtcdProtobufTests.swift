
@testable import EtcdDriver
@testable import LoadGeneration
import NIOCore
import Testing

/// The hand-written protobuf: requests byte for byte as etcd's Go client
/// encodes them, responses decoded from hand-made bytes, unknown fields skipped.
@Suite("etcd protobuf encoding and decoding")
struct EtcdProtobufTests {
    static func encoded(_ write: (inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBuffer()
        write(&buffer)
        return Array(buffer.readableBytesView)
    }

    @Test("PutRequest, byte for byte, framed and unframed")
    func putRequest() {
        let put = Self.encoded { EtcdRequestEncoding.writePutRequest(key: "k7", value: [1, 2, 3], to: &$0) }
        #expect(put == [0x0A, 0x02, 0x6B, 0x37, 0x12, 0x03, 0x01, 0x02, 0x03])
        let framed = Self.encoded { buffer in
            GRPCMessageFraming.writeMessage(to: &buffer) {
                EtcdRequestEncoding.writePutRequest(key: "k7", value: [1, 2, 3], to: &$0)
            }
        }
        #expect(framed == [0x00, 0x00, 0x00, 0x00, 0x09] + put)
        // Proto3 leaves an empty value off the wire.
        #expect(Self.encoded { EtcdRequestEncoding.writePutRequest(key: "k7", value: [], to: &$0) } == [0x0A, 0x02, 0x6B, 0x37])
        // A 200-byte value takes a two-byte length varint.
        let long = Self.encoded { EtcdRequestEncoding.writePutRequest(key: "k", value: Array(repeating: 9, count: 200), to: &$0) }
        #expect(Array(long.prefix(6)) == [0x0A, 0x01, 0x6B, 0x12, 0xC8, 0x01])
        #expect(long.count == 6 + 200)
    }

    @Test("RangeRequest, serializable and linearizable")
    func rangeRequest() {
        let serializable = Self.encoded { EtcdRequestEncoding.writeRangeRequest(key: "k42", serializable: true, to: &$0) }
        #expect(serializable == [0x0A, 0x03, 0x6B, 0x34, 0x32, 0x38, 0x01])
        let linearizable = Self.encoded { EtcdRequestEncoding.writeRangeRequest(key: "k42", serializable: false, to: &$0) }
        #expect(linearizable == [0x0A, 0x03, 0x6B, 0x34, 0x32])
        #expect(Self.encoded { $0.writeProtobufVarint(UInt64.max) } == Array(repeating: 0xFF, count: 9) + [0x01])
        #expect(Self.encoded { $0.writeProtobufVarint(0) } == [0x00])
    }

    /// ResponseHeader{cluster_id 1, member_id 0x1234, revision 5, raft_term 2}.
    static let header: [UInt8] = [0x08, 0x01, 0x10, 0xB4, 0x24, 0x18, 0x05, 0x20, 0x02]

    /// Unknown fields of every wire type, a group with a nested group among them.
    static let unknownFields: [UInt8] =
        [0x55, 1, 2, 3, 4]  // field 10, fixed32
        + [0x59, 1, 2, 3, 4, 5, 6, 7, 8]  // field 11, fixed64
        + [0x60, 0xFF, 0x01]  // field 12, varint
        + [0x6A, 0x03, 0xAA, 0xBB, 0xCC]  // field 13, length-delimited
        + [0x73, 0x08, 0x07, 0x13, 0x1D, 1, 2, 3, 4, 0x14, 0x74]  // field 14, group { 1: 7, group 2 { 3: fixed32 } }
        + [0x80, 0xEA, 0x30, 0x01]  // field 100000, varint

    @Test("RangeResponse: a key found, with unknown fields around the ones read")
    func rangeResponseFound() throws {
        let bytes: [UInt8] =
            [0x0A, 0x09] + Self.header + Self.unknownFields
            + [0x12, 0x04, 0x0A, 0x02, 0x6B, 0x31]  // kvs { key "k1" }
            + [0x18, 0x00]  // more false
            + [0x20, 0x01]  // count 1
        let summary = try EtcdResponseDecoding.decodeRangeResponse(ByteBuffer(bytes: bytes))
        #expect(summary.found)
        #expect(summary.count == 1)
        #expect(summary.keyValueCount == 1)
        #expect(summary.header == EtcdResponseHeader(clusterID: 1, memberID: 0x1234, revision: 5, raftTerm: 2))
    }

    @Test("RangeResponse: a key missing, and count_only style answers")
    func rangeResponseMissing() throws {
        let missing = try EtcdResponseDecoding.decodeRangeResponse(ByteBuffer(bytes: [0x0A, 0x09] + Self.header))
        #expect(!missing.found)
        #expect(try EtcdResponseDecoding.decodeRangeResponse(ByteBuffer()).found == false)
        // A count without kvs (as keys_only/count_only answers carry) still means found.
        #expect(try EtcdResponseDecoding.decodeRangeResponse(ByteBuffer(bytes: [0x20, 0x03])).found)
    }

    @Test("StatusResponse: member, leader and version, past fields this decoder does not know")
    func statusResponse() throws {
        let bytes: [UInt8] =
            [0x0A, 0x05, 0x08, 0x01, 0x10, 0xAB, 0x01]  // header { cluster 1, member 0xAB }
            + [0x12, 0x06] + Array("3.4.23".utf8)  // version
            + [0x18, 0x80, 0x40]  // dbSize 8192
            + [0x20, 0xAB, 0x01]  // leader 0xAB
            + [0x28, 0x2A, 0x30, 0x03]  // raftIndex 42, raftTerm 3
            + [0x42, 0x02, 0x6F, 0x6B]  // errors ["ok"] (field 8, unknown here)
            + [0x50, 0x00]  // isLearner false (field 10, unknown here)
        let status = try EtcdResponseDecoding.decodeStatusResponse(ByteBuffer(bytes: bytes))
        #expect(status.memberID == 0xAB)
        #expect(status.leaderID == 0xAB)
        #expect(status.isLeader && status.hasLeader)
        #expect(status.version == "3.4.23")
        #expect(status.databaseBytes == 8192)
        #expect(status.raftIndex == 42 && status.raftTerm == 3)
        let follower = try EtcdResponseDecoding.decodeStatusResponse(
            ByteBuffer(bytes: [0x0A, 0x02, 0x10, 0x07, 0x20, 0xAB, 0x01]))
        #expect(follower.hasLeader && !follower.isLeader)
        #expect(!(try EtcdResponseDecoding.decodeStatusResponse(ByteBuffer(bytes: [0x0A, 0x02, 0x10, 0x07]))).hasLeader)
    }

    @Test("PutResponse: the header, past a prev_kv")
    func putResponse() throws {
        let header = try EtcdResponseDecoding.decodePutResponse(
            ByteBuffer(bytes: [0x12, 0x02, 0x0A, 0x00, 0x0A, 0x09] + Self.header))
        #expect(header.memberID == 0x1234 && header.revision == 5)
    }

    static func rangeError(_ bytes: [UInt8]) -> ProtobufDecodingError? {
        do {
            _ = try EtcdResponseDecoding.decodeRangeResponse(ByteBuffer(bytes: bytes))
            return nil
        } catch {
            return error
        }
    }

    @Test("malformed responses: typed errors naming message, field and offset")
    func malformed() {
        #expect(
            Self.rangeError([0x12, 0x05, 0x0A])
                == .lengthBeyondBuffer(message: "RangeResponse", field: 2, declared: 5, available: 1, offset: 1))
        #expect(
            Self.rangeError([0x12] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
                == .lengthBeyondBuffer(message: "RangeResponse", field: 2, declared: .max, available: 0, offset: 1))
        #expect(
            Self.rangeError([0x22, 0x00])
                == .wrongWireType(message: "RangeResponse", field: 4, expected: .varint, found: .lengthDelimited, offset: 0))
        #expect(Self.rangeError([0x00]) == .invalidFieldNumber(message: "RangeResponse", number: 0, offset: 0))
        #expect(Self.rangeError([0x0F]) == .invalidWireType(message: "RangeResponse", field: 1, wireType: 7, offset: 0))
        #expect(
            Self.rangeError([0x20] + Array(repeating: 0xFF, count: 11))
                == .overlongVarint(message: "RangeResponse", field: 4, offset: 1))
        #expect(Self.rangeError([0x20, 0x80]) == .truncatedVarint(message: "RangeResponse", field: 4, offset: 1))
        #expect(Self.rangeError([0x80]) == .truncatedVarint(message: "RangeResponse", field: nil, offset: 0))
        #expect(
            Self.rangeError([0x0A, 0x02, 0x10, 0x80])
                == .truncatedVarint(message: "ResponseHeader", field: 2, offset: 3))
        #expect(
            Self.rangeError([0x55, 1, 2])
                == .truncatedFixed(message: "RangeResponse", field: 10, width: 4, available: 2, offset: 1))
        #expect(Self.rangeError([0x73, 0x08, 0x01]) == .unterminatedGroup(message: "RangeResponse", field: 14, offset: 0))
        #expect(Self.rangeError([0x73, 0x7C]) == .unexpectedEndGroup(message: "RangeResponse", field: 15, offset: 1))
        #expect(Self.rangeError([0x74]) == .unexpectedEndGroup(message: "RangeResponse", field: 14, offset: 0))
        #expect(
            Self.rangeError(Array(repeating: 0x73, count: 40))
                == .groupsNestedTooDeep(message: "RangeResponse", limit: 32, offset: 32))
        let error = Self.rangeError([0x12, 0x05, 0x0A])!
        #expect("\(error)" == "RangeResponse field 2: declares 5 bytes at byte 1 but only 1 follow")
    }
}
