import Credentials
import NIOCore
import Synchronization
import Wire

/// A node's copy of the cluster's access key records, read from the system
/// account on demand. A copy is used for ``lifetime`` after the read that
/// made it started, so a key revoked at time T is refused everywhere from
/// T + lifetime on; a request that finds the copy older waits for a new read.
/// Nothing is read while no access key is in use.
final class AccessKeyDirectory: Sendable {
    typealias Fetch = @Sendable () async throws -> [AccessKeyRecord]
    static let lifetime: TimeAmount = .seconds(Int64(WireGrant.revocationSeconds))
    /// An unknown key id makes the node read again if its copy is older than
    /// this: a key made on another node a moment ago is found, and a flood of
    /// made-up ids costs at most one read per interval.
    static let unknownKeyRereadInterval: TimeAmount = .milliseconds(200)

    enum Lookup {
        case stale
        case unknown(copyStartedAt: NIODeadline)
        case found(KnownKey)
    }

    /// A record and the subject it makes, decoded once per copy rather than per request.
    struct KnownKey: Sendable {
        let record: AccessKeyRecord
        let subject: Subject

        init(_ record: AccessKeyRecord) {
            self.record = record
            subject = Subject(name: "access key \(record.id)", grants: record.accountGrants)
        }
    }

    private struct State {
        var records: [String: KnownKey] = [:]
        var copyStartedAt: NIODeadline?
        var reading: (startedAt: NIODeadline, task: Task<Void, any Error>)?
        /// Changes made here, kept for one copy lifetime: a read that started
        /// before one of them must not bring the old record back.
        var localChanges: [(at: NIODeadline, known: KnownKey)] = []
    }

    private let state = Mutex(State())
    private let fetch: Fetch

    init(fetch: @escaping Fetch) {
        self.fetch = fetch
    }

    func lookup(_ id: String, now: NIODeadline) -> Lookup {
        state.withLock { state in
            guard let startedAt = state.copyStartedAt, now - startedAt < Self.lifetime else { return .stale }
            return state.records[id].map { .found($0) } ?? .unknown(copyStartedAt: startedAt)
        }
    }

    /// Returns once the copy comes from a read that started at `demand` or
    /// later (reads are shared by every request waiting); throws the read's error.
    func refresh(after demand: NIODeadline) async throws {
        while true {
            let task: Task<Void, any Error>? = state.withLock { state in
                if let startedAt = state.copyStartedAt, startedAt >= demand { return nil }
                if let reading = state.reading { return reading.task }
                let startedAt = NIODeadline.now()
                let task = Task { try await self.read(startedAt: startedAt) }
                state.reading = (startedAt, task)
                return task
            }
            guard let task else { return }
            try await task.value
        }
    }

    private func read(startedAt: NIODeadline) async throws {
        do {
            let records = try await fetch()
            state.withLock { state in
                state.reading = nil
                if (state.copyStartedAt ?? .distantPast) < startedAt {
                    state.records = Dictionary(records.map { ($0.id, KnownKey($0)) }, uniquingKeysWith: { $1 })
                    state.copyStartedAt = startedAt
                    for change in state.localChanges where change.at >= startedAt {
                        state.records[change.known.record.id] = change.known
                    }
                }
            }
        } catch {
            state.withLock { $0.reading = nil }
            throw error
        }
    }

    /// A change this node made itself (a key made or revoked here) applies here at once.
    func remember(_ record: AccessKeyRecord, now: NIODeadline = .now()) {
        let known = KnownKey(record)
        state.withLock { state in
            state.localChanges.removeAll { now - $0.at > Self.lifetime }
            state.localChanges.append((now, known))
            if state.copyStartedAt != nil { state.records[record.id] = known }
        }
    }
}
