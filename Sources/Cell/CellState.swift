import Storage

/// Where a cell's state machine keeps its items and its clients' sessions.
///
/// The rules of applying an entry (sessions, conditions, all-or-nothing
/// commands) are written once, in this protocol's extension, for both kinds
/// of storage: ``CellStateMachine`` in memory (the simulator, the explorer,
/// tests) and the node's page store (the server), where `Failure` is a disk error.
/// Every replica applies the same entries with the same outcome, so nothing
/// here may depend on anything but the entries (no clocks, no dictionary order).
public protocol CellState {
    associatedtype Failure: Error

    var appliedIndex: LogIndex { get set }
    func read(_ key: ItemKey) throws(Failure) -> Item?
    func session(_ client: UInt64) throws(Failure) -> ClientSession?
    var sessionCount: Int { get }
    /// Every session's client and the log index that last used it.
    func sessionAges() throws(Failure) -> [(client: UInt64, lastIndex: LogIndex)]
    /// Puts (`item` set) or deletes (`item` nil) one item.
    mutating func store(_ key: ItemKey, _ item: Item?) throws(Failure)
    /// Puts or forgets one session; `existed` says whether the client had one
    /// (the caller just read it, so a store need not read it again).
    mutating func storeSession(_ client: UInt64, _ session: ClientSession?, existed: Bool) throws(Failure)
}

/// Bounds shared by every kind of cell state.
public enum CellSessions {
    /// Sessions kept per cell; beyond this the least recently used are forgotten
    /// (a retry from a forgotten client is applied again).
    public static let maximum = 4096
    /// Eviction goes well below the maximum so that its sort runs once per few
    /// hundred new clients, not once per new client.
    static let afterEviction = maximum * 9 / 10
}

extension CellState {
    /// Applies one committed entry; returns the command and its result for a command entry.
    public mutating func apply(_ entry: LogEntry) throws(Failure) -> (command: CellCommand, result: CellCommandResult)? {
        precondition(entry.index == appliedIndex + 1, "entries must be applied in order: \(entry.index) after \(appliedIndex)")
        appliedIndex = entry.index
        guard case .command(let bytes) = entry.payload, let command = try? CellCommand(decoding: bytes) else { return nil }
        let stored = try self.session(command.clientID)
        var session = stored ?? ClientSession()
        let result: CellCommandResult
        var executed = false
        if command.sequence < session.watermark {
            result = .expired
        } else if let remembered = session.results[command.sequence] {
            result = remembered
        } else {
            switch command.body {
            case .writes(let writes):
                result = try execute(writes, version: entry.index)
            case .queue(let queue, let operation, let now):
                result = .queue(try executeQueue(operation, on: queue, now: now, version: entry.index))
            }
            executed = true
        }
        session.record(executed ? result : nil, for: command.sequence, acknowledgedBelow: command.acknowledgedBelow, at: entry.index)
        try storeSession(command.clientID, session, existed: stored != nil)
        if sessionCount > CellSessions.maximum { try evictSessions() }
        return (command, result)
    }

    /// Checks each write's condition against the state the writes before it in
    /// the same command would leave, then applies all of them, or none.
    private mutating func execute(_ writes: [ItemWrite], version: LogIndex) throws(Failure) -> CellCommandResult {
        var pending: [ItemKey: Item?] = [:]
        for (number, write) in writes.enumerated() {
            let current: Item? = if let written = pending[write.key] { written } else { try read(write.key) }
            guard write.condition.holds(for: current) else {
                return .conditionFailed(write: number, currentVersion: current?.version)
            }
            if writes.count > 1 {
                pending.updateValue(write.value.map { Item(sortKey: write.key.sortKey, version: version, value: $0) },
                                    forKey: write.key)
            }
        }
        for write in writes {
            try store(write.key, write.value.map { Item(sortKey: write.key.sortKey, version: version, value: $0) })
        }
        return .applied(version: version)
    }

    /// Forgets the least recently used sessions (ties by client id, so every replica forgets the same ones).
    private mutating func evictSessions() throws(Failure) {
        let ages = try sessionAges()
        let oldest = ages.sorted { ($0.lastIndex, $0.client) < ($1.lastIndex, $1.client) }
            .prefix(ages.count - CellSessions.afterEviction)
        for session in oldest { try storeSession(session.client, nil, existed: true) }
    }
}

/// What a cell remembers about one client, so that its retries are answered, not re-applied.
public struct ClientSession: Hashable, Sendable {
    /// Every sequence below this is finished: a retry of one is expired.
    public internal(set) var watermark: UInt64 = 0
    /// Results of sequences at or above the watermark, by sequence.
    public internal(set) var results: [UInt64: CellCommandResult] = [:]
    /// The log index that last used this session (for eviction).
    public internal(set) var lastIndex: LogIndex = 0

    public init() {}

    mutating func record(_ result: CellCommandResult?, for sequence: UInt64, acknowledgedBelow: UInt64, at index: LogIndex) {
        if let result { results[sequence] = result }
        if acknowledgedBelow > watermark {
            watermark = acknowledgedBelow
            results = results.filter { $0.key >= acknowledgedBelow }
        }
        lastIndex = index
    }
}
