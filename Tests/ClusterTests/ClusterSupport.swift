import Client
import Foundation
import Keyspace
import Synchronization
import Wire

/// The keys of these tests: `acct/cluster/rnd/<name>`.
func clusterKey(_ name: String) -> Key {
    try! Key(account: "acct", resource: "cluster", type: .rnd, primaryKey: name)
}

extension ClientOptions {
    /// Short attempts, so that a dead or frozen node is left quickly.
    static func cluster(deadline: Duration = .seconds(10), attemptTimeout: Duration = .seconds(1)) -> ClientOptions {
        var options = ClientOptions()
        options.deadline = deadline
        options.attemptTimeout = attemptTimeout
        options.connectTimeout = .milliseconds(500)
        return options
    }
}

/// Opens a client on `endpoints`, runs `body`, and closes the client whatever happens.
func withClient<T>(
    _ endpoints: [String], options: ClientOptions = .cluster(), _ body: (TesseraClient) async throws -> T
) async throws -> T {
    let client = try await TesseraClient(endpoints: endpoints, options: options)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

/// Runs `body(index)` for every index in `0..<count` on `workers` concurrent tasks.
func concurrently(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for worker in 0..<min(workers, max(count, 1)) {
            group.addTask {
                var index = worker
                while index < count {
                    if Task.isCancelled { return }
                    await body(index)
                    index += workers
                }
            }
        }
    }
}

/// What the tests remember of writes: the value each key was last
/// acknowledged with, and keys whose last write has an unknown outcome.
final class WriteLedger: Sendable {
    struct Entry: Sendable, Equatable {
        var value: String
        var version: UInt64
    }

    private struct State {
        var acknowledged: [String: Entry] = [:]
        /// Writes whose outcome is unknown: the key holds this value or its previous one.
        var unknown: [String: String] = [:]
        var failures: [String] = []
    }

    private let state = Mutex(State())

    /// Puts `value` under `name` through `client` and records the outcome. Returns whether it was acknowledged.
    @discardableResult
    func put(_ name: String, _ value: String, through client: TesseraClient) async -> Bool {
        do {
            let result = try await client.put(clusterKey(name), value: Array(value.utf8))
            guard case .written(let version) = result else {
                state.withLock { $0.failures.append("put \(name): unexpected \(result)") }
                return false
            }
            state.withLock { state in
                state.acknowledged[name] = Entry(value: value, version: version)
                state.unknown[name] = nil
            }
            return true
        } catch {
            state.withLock { state in
                state.unknown[name] = value
                state.failures.append("put \(name): \(error)")
            }
            return false
        }
    }

    var acknowledged: [String: Entry] { state.withLock { $0.acknowledged } }
    var unknown: [String: String] { state.withLock { $0.unknown } }
    var failures: [String] { state.withLock { $0.failures } }
    func clearFailures() { state.withLock { $0.failures = [] } }

    /// What a read of `name` may return: the acknowledged value, or (after an
    /// unknown-outcome write) that write's value.
    func allowed(_ name: String) -> (acknowledged: String?, unknown: String?) {
        state.withLock { ($0.acknowledged[name]?.value, $0.unknown[name]) }
    }
}

/// A thread-safe list of problems found by concurrent tasks.
final class ProblemList: Sendable {
    private let items = Mutex<[String]>([])
    func add(_ problem: String) { items.withLock { $0.append(problem) } }
    var all: [String] { items.withLock { $0 } }
    var count: Int { items.withLock { $0.count } }
}

/// A counter shared by tasks.
final class Counter: Sendable {
    private let value = Mutex(0)
    @discardableResult func increment(by amount: Int = 1) -> Int { value.withLock { $0 += amount; return $0 } }
    var current: Int { value.withLock { $0 } }
}

/// A flag tasks poll to stop.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    func stop() { value.withLock { $0 = true } }
    var isStopped: Bool { value.withLock { $0 } }
}

extension LocalCluster {
    /// Reads every key of `names` from node `index` alone, with eventual reads
    /// through ``TesseraClient/get(_:consistency:at:)`` (`workers` at a time),
    /// returning each key's value there (nil: absent). Throws the first failure.
    func eventualValues(of names: [String], at index: Int, through client: TesseraClient, workers: Int = 32) async throws -> [String: String?] {
        let member = nodes[index].id
        let values = Mutex<[String: String?]>([:])
        let failures = ProblemList()
        await concurrently(names.count, workers: workers) { position in
            guard failures.count == 0 else { return }
            let name = names[position]
            do {
                let item = try await client.get(clusterKey(name), consistency: .eventual, at: member)
                values.withLock { $0[name] = .some(item.map { String(decoding: $0.value, as: UTF8.self) }) }
            } catch {
                failures.add("eventual read of \(name) at \(member) failed: \(error)")
            }
        }
        if let failure = failures.all.first { throw ClusterError(failure) }
        return values.withLock { $0 }
    }

    /// Every node's status (nil for one that does not answer).
    func statuses(through client: TesseraClient) async -> [NodeStatus?] {
        var result: [NodeStatus?] = []
        for node in nodes { result.append(try? await client.nodeStatus(of: node.id)) }
        return result
    }
}

/// A key per cell: the first of `prefix0`, `prefix1`, … to land in each of the cluster's cells.
func oneKeyPerCell(prefix: String, client: TesseraClient, cellDepth: Int) -> [CellID: String] {
    let cells = 1 << cellDepth
    var chosen: [CellID: String] = [:]
    var index = 0
    while chosen.count < cells && index < cells * 1000 {
        let name = "\(prefix)\(index)"
        let cell = client.placement(of: clusterKey(name)).cell
        if chosen[cell] == nil { chosen[cell] = name }
        index += 1
    }
    return chosen
}
