// What the load loop drives: one system under test, and the sessions its
// simulated clients use. Every system gets the same loop, keys, values and
// timing; only the driver (and so the protocol on the wire) differs.

/// How a read must see the writes before it.
public enum ReadConsistency: String, Codable, Sendable, CaseIterable {
    /// Sees every write acknowledged before the read began (Tessera: a leader
    /// with a lease; etcd: a linearizable range through ReadIndex).
    case linearizable
    /// May be stale (Tessera: any replica; etcd: a serializable range on the
    /// member asked).
    case eventual
}

/// One simulated client's way to the system: a connection, a share of a
/// pooled one, or an embedded handle. The load loop calls it from one task at
/// a time, so a session may keep one request in flight and no more.
public protocol LoadSession: Sendable {
    /// Stores `value` under key number `key`, durably: it returns once the
    /// system acknowledged the write.
    func put(key: Int, value: [UInt8]) async throws
    /// Reads key number `key`; true when the system had a value for it.
    func get(key: Int, consistency: ReadConsistency) async throws -> Bool
    /// Releases what the session holds. Called once, after its last request.
    func close() async
}

/// A system under test, as the load loop sees it.
public protocol LoadSystem: Sendable {
    /// A short name for tables: "tessera", "etcd", "redis", "sqlite".
    var name: String { get }
    /// The protocol or interface the driver speaks, for the report.
    var interface: String { get }
    /// A session for client `index` of `count`. Sessions may share connections.
    func makeSession(index: Int, of count: Int) async throws -> any LoadSession
    /// Called after every session of a run closed: drops shared connections.
    func endRun() async
}

extension LoadSystem {
    public func endRun() async {}
}

/// The key that number `index` stands for, the same text on every system.
public func loadKeyName(_ index: Int) -> String { "k\(index)" }

/// A failure of the harness or a driver, with the part at fault named.
public struct LoadFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
