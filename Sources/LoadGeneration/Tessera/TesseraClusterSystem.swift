import Client
import Keyspace
import Wire

/// A Tessera cluster through the Swift client: one `TesseraClient` shared by
/// every session, as an application would share it. The client keeps one
/// connection per node, routes each key to its cell's leader and keeps many
/// requests in flight on each connection.
public final class TesseraClusterSystem: LoadSystem {
    public let name = "tessera"
    public let interface = "Tessera's binary protocol over TCP (Swift client, one connection per node, requests multiplexed)"
    public let client: TesseraClient
    /// Keys are parsed and hashed once: the client's callers hold `Key` values.
    private let keyList: [Key]

    public init(client: TesseraClient, keys: Int) throws {
        self.client = client
        keyList = try (0..<keys).map { try Key(parsing: "bench/bench-peers/rnd/" + loadKeyName($0)) }
    }

    public var keys: [Key] { keyList }

    public func makeSession(index: Int, of count: Int) async throws -> any LoadSession {
        Session(client: client, keys: keyList)
    }

    struct Session: LoadSession {
        let client: TesseraClient
        let keys: [Key]

        func put(key: Int, value: [UInt8]) async throws {
            _ = try await client.put(keys[key], value: value)
        }

        func get(key: Int, consistency: ReadConsistency) async throws -> Bool {
            // Strong reads are served by the cell's leader under its lease: linearizable.
            let level: Wire.ReadConsistency = consistency == .linearizable ? .strong : .eventual
            return try await client.get(keys[key], consistency: level) != nil
        }

        func close() async {}
    }
}
