import NIOCore

/// The request messages of etcd's v3 API that the driver sends, encoded by
/// hand (field numbers from etcd's api/etcdserverpb/rpc.proto).
enum EtcdRequestEncoding {
    /// PutRequest{key = 1, value = 2}: no lease, no prev_kv.
    static func writePutRequest(key: String, value: [UInt8], to buffer: inout ByteBuffer) {
        buffer.writeProtobufUTF8(field: 1, key)
        buffer.writeProtobufBytes(field: 2, value)
    }

    /// RangeRequest{key = 1, serializable = 7} for one key: no range_end, so
    /// it is a point read. Serializable reads are served from the member's
    /// own state; the rest go through ReadIndex, which makes them linearizable.
    static func writeRangeRequest(key: String, serializable: Bool, to buffer: inout ByteBuffer) {
        buffer.writeProtobufUTF8(field: 1, key)
        buffer.writeProtobufBool(field: 7, serializable)
    }

    // StatusRequest has no fields: its encoding is empty.
}
