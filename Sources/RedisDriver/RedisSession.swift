/// One load client's connection to Redis.
import LoadGeneration
struct RedisSession: LoadSession {
    let connection: RedisConnection

    private static let set = Array("SET".utf8)
    private static let get = Array("GET".utf8)

    func put(key: Int, value: [UInt8]) async throws {
        let reply = try await connection.send([Self.set, Array(loadKeyName(key).utf8), value])
        guard reply == .simpleString("OK") else { throw RedisError.unexpectedReply(command: "SET", reply: reply) }
    }

    /// A single `redis-server` has one copy of the data and answers every read from it after
    /// every write it acknowledged, so both consistencies are the same read and `consistency`
    /// is ignored. (Replicas, which would make eventual reads differ, are not part of this setup.)
    func get(key: Int, consistency: ReadConsistency) async throws -> Bool {
        let reply = try await connection.send([Self.get, Array(loadKeyName(key).utf8)])
        switch reply {
        case .bulkString: return true
        case .nullBulkString: return false
        default: throw RedisError.unexpectedReply(command: "GET", reply: reply)
        }
    }

    func close() async { await connection.close() }
}
