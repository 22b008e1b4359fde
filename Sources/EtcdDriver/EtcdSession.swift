/// One simulated client of etcd: writes go to a connection to the leader,
/// reads to a connection to some member; both are shared with other sessions.
import LoadGeneration
struct EtcdSession: LoadSession {
    let writer: EtcdConnection
    let reader: EtcdConnection

    func put(key: Int, value: [UInt8]) async throws {
        try await writer.put(key: loadKeyName(key), value: value)
    }

    func get(key: Int, consistency: ReadConsistency) async throws -> Bool {
        try await reader.get(key: loadKeyName(key), serializable: consistency == .eventual)
    }

    /// The connections belong to the system's run, which closes them in `endRun()`.
    func close() async {}
}
