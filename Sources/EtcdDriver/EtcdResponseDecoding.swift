import NIOCore

/// etcdserverpb.ResponseHeader, which every etcd response carries.
public struct EtcdResponseHeader: Sendable, Hashable {
    public var clusterID: UInt64 = 0
    /// The member that answered.
    public var memberID: UInt64 = 0
    public var revision: Int64 = 0
    public var raftTerm: UInt64 = 0
}

/// What a RangeResponse says about the key asked for.
struct EtcdRangeSummary: Sendable, Hashable {
    var header = EtcdResponseHeader()
    /// The number of keys in range (field 4).
    var count: Int64 = 0
    /// How many KeyValue messages came back (field 2).
    var keyValueCount = 0

    var found: Bool { count > 0 || keyValueCount > 0 }
}

/// The response messages the driver reads, decoded by walking their fields:
/// only what it needs is kept, everything else (including fields newer etcd
/// versions add) is skipped.
enum EtcdResponseDecoding {
    /// PutResponse{header = 1, prev_kv = 2}: the header, which names the answering member.
    static func decodePutResponse(_ message: ByteBuffer) throws(ProtobufDecodingError) -> EtcdResponseHeader {
        var reader = ProtobufReader(message, message: "PutResponse")
        var header = EtcdResponseHeader()
        while let field = try reader.nextField() {
            if field.number == 1 {
                var headerReader = try reader.readMessage(field, as: "ResponseHeader")
                header = try decodeHeader(&headerReader)
            } else {
                try reader.skip(field)
            }
        }
        return header
    }

    /// RangeResponse{header = 1, kvs = 2 repeated, more = 3, count = 4}.
    static func decodeRangeResponse(_ message: ByteBuffer) throws(ProtobufDecodingError) -> EtcdRangeSummary {
        var reader = ProtobufReader(message, message: "RangeResponse")
        var summary = EtcdRangeSummary()
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                var headerReader = try reader.readMessage(field, as: "ResponseHeader")
                summary.header = try decodeHeader(&headerReader)
            case 2:
                // The KeyValue itself is not needed: that it came back is the answer.
                _ = try reader.readMessage(field, as: "KeyValue")
                summary.keyValueCount += 1
            case 4:
                summary.count = Int64(bitPattern: try reader.readVarint(field))
            default:
                try reader.skip(field)
            }
        }
        return summary
    }

    /// StatusResponse{header = 1, version = 2, dbSize = 3, leader = 4, raftIndex = 5, raftTerm = 6, ...}.
    static func decodeStatusResponse(_ message: ByteBuffer) throws(ProtobufDecodingError) -> EtcdMemberStatus {
        var reader = ProtobufReader(message, message: "StatusResponse")
        var status = EtcdMemberStatus()
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                var headerReader = try reader.readMessage(field, as: "ResponseHeader")
                status.memberID = try decodeHeader(&headerReader).memberID
            case 2: status.version = try reader.readString(field)
            case 3: status.databaseBytes = Int64(bitPattern: try reader.readVarint(field))
            case 4: status.leaderID = try reader.readVarint(field)
            case 5: status.raftIndex = try reader.readVarint(field)
            case 6: status.raftTerm = try reader.readVarint(field)
            default: try reader.skip(field)
            }
        }
        return status
    }

    /// ResponseHeader{cluster_id = 1, member_id = 2, revision = 3, raft_term = 4}.
    static func decodeHeader(_ reader: inout ProtobufReader) throws(ProtobufDecodingError) -> EtcdResponseHeader {
        var header = EtcdResponseHeader()
        while let field = try reader.nextField() {
            switch field.number {
            case 1: header.clusterID = try reader.readVarint(field)
            case 2: header.memberID = try reader.readVarint(field)
            case 3: header.revision = Int64(bitPattern: try reader.readVarint(field))
            case 4: header.raftTerm = try reader.readVarint(field)
            default: try reader.skip(field)
            }
        }
        return header
    }
}
