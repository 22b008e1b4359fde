import Client
import Foundation
import Keyspace
import Linearizability
import Synchronization
import TestSupport
import Testing
import Wire

/// A queue on a real three-node cluster, with extents of 1 MiB: six clients
/// append ~24 KiB entries, two read pages and one reads the tail, while the
/// cell's leader is SIGKILLed and restarted and then a follower is. The history
/// is checked against the fenced log's model, and the queue read back whole
/// (strongly, then from each node alone) must hold every acknowledged entry
/// once, intact, at its sequence number.
@Suite(.serialized) struct QueueClusterTests {
    static let seed: UInt64 = 0x0051_EE5E
    static let payloadSize = 24 << 10
    static let appenders = 6
    static let readers = 2
    /// The worker numbers: appenders first, then readers, then the tail reader; the test's own client last.
    static let controllerNumber = appenders + readers + 1
    static let maximumAppends = 900

    /// An entry as read back, for comparisons.
    struct Entry: Equatable {
        var sequence: UInt64
        var payload: [UInt8]
    }

    @Test(.timeLimit(.minutes(6))) func queueIsALinearizableLogThroughKills() async throws {
        try await LocalCluster.run(label: "queue-log", serveArguments: ["--extent-bytes", "1MiB"]) { cluster in
            let queue = try Key(account: "acme", resource: "jobs", type: .lnr, primaryKey: "orders")
            let log = QueueLogHistory(key: queue.text, deadline: ContinuousClock.now + .seconds(240))
            let stop = StopFlag()
            let endpoints = cluster.endpoints
            var random = SplitMix64(seed: Self.seed)
            let seeds = (0..<Self.controllerNumber).map { _ in random.next() }
            let workers = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (number, seed) in seeds.enumerated() {
                        group.addTask { await Self.worker(number, seed: seed, queue: queue, endpoints: endpoints, log: log, stop: stop) }
                    }
                }
            }
            defer { workers.cancel() }

            try await withClient(endpoints, options: .cluster(deadline: .seconds(10), attemptTimeout: .seconds(3))) { controller in
                func waitForAppends(_ count: Int, _ what: String) async {
                    let from = log.acknowledgedCount
                    let progressed = await waitUntil(timeout: .seconds(60)) {
                        log.acknowledgedCount >= from + count || log.appendsExhausted || cluster.hasUnexpectedExit
                    }
                    if log.appendsExhausted && log.acknowledgedCount < from + count {
                        cluster.note("the appenders reached their bound \(what) (\(log.acknowledgedCount - from) of \(count) more)")
                    } else {
                        cluster.check(progressed, "fewer than \(count) appends were acknowledged in 60 s \(what) (\(log.acknowledgedCount - from))")
                    }
                }
                /// The leader of the queue's cell, as a recorded strong tail read finds it.
                func leader() async -> Int? {
                    for _ in 0..<40 {
                        if await Self.perform(.tail(log.key), as: Self.controllerNumber, through: controller, queue: queue, log: log) != nil,
                            let member = controller.placement(of: queue).cachedLeader, let index = cluster.index(of: member) {
                            return index
                        }
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                    return nil
                }

                await waitForAppends(150, "with every node up")
                try cluster.requireHealthy()
                let killed = await leader() ?? 0
                cluster.note("SIGKILL \(cluster.nodes[killed].id) (the queue's leader) after \(log.acknowledgedCount) appends")
                await cluster.kill(killed)
                await waitForAppends(100, "with \(cluster.nodes[killed].id) killed")
                try cluster.start(killed)
                try await cluster.waitUntilListening(killed)
                await waitForAppends(100, "after \(cluster.nodes[killed].id) restarted")
                let current = await leader()
                let others = cluster.nodes.indices.filter { $0 != current }
                let follower = others.first(where: { $0 != killed }) ?? others[0]
                cluster.note("SIGKILL \(cluster.nodes[follower].id) (a follower) and restart it at once, after \(log.acknowledgedCount) appends")
                await cluster.kill(follower)
                try cluster.start(follower)
                try await cluster.waitUntilListening(follower)
                await waitForAppends(80, "after \(cluster.nodes[follower].id) restarted")
                stop.stop()
                await workers.value
                cluster.note("operations: \(log.summary)")

                let limits = CheckLimits(maxStatesPerKey: 2_000_000, timeout: .seconds(120))
                let result = try LinearizabilityChecker(model: LogModel(), limits: limits).check(log.history)
                cluster.note("queue history: \(result.isLinearizable ? "linearizable" : result.isTimedOut ? "checker timed out" : "NOT linearizable")")
                if !result.isLinearizable { print(result.description) }
                cluster.check(result.isLinearizable, "the queue's history is not linearizable (seed \(Self.seed)): \(result)")

                // Every node applied through the leader's last sequence: then each must hold what the leader does.
                var leaderLast: UInt64 = 0
                var lasts: [UInt64?] = []
                let converged = await waitUntil(timeout: .seconds(30), every: .milliseconds(500)) {
                    guard let leaderSequence = try? await controller.queueStatus(queue).lastSequence else { return false }
                    leaderLast = leaderSequence
                    lasts = []
                    for node in cluster.nodes {
                        let nodeLast = await Self.eventualLast(queue, port: node.port)
                        lasts.append(nodeLast)
                    }
                    return lasts.allSatisfy { $0 == leaderSequence }
                }
                cluster.check(converged, "not every node applied through the leader's last sequence \(leaderLast) in 30 s: \(lasts)")

                let (strong, last) = try await Self.strongEntries(queue, through: controller)
                cluster.note("the queue holds \(strong.count) entries (last sequence \(last)); \(log.acknowledged.count) appends were acknowledged")
                Self.checkLog(strong, last: last, log: log, cluster: cluster)

                for node in cluster.nodes {
                    do {
                        let entries = try await Self.eventualEntries(queue, port: node.port)
                        let mismatch = zip(entries, strong).first(where: { pair in pair.0 != pair.1 })?.0.sequence
                        let differing = mismatch.map { "first difference at seq \($0)" } ?? "no difference in the common prefix"
                        cluster.check(entries == strong,
                                      "\(node.id) holds \(entries.count) entries, the strong read \(strong.count): \(differing)")
                    } catch {
                        cluster.fail("reading the queue from \(node.id) alone failed: \(error)")
                    }
                }

                let extentFiles = cluster.nodes.map { node in
                    ((try? FileManager.default.contentsOfDirectory(atPath: node.dataDirectory + "/lnr")) ?? []).filter { $0.hasSuffix(".extent") }.count
                }
                cluster.note("extent files per node: \(extentFiles)")
                cluster.check(extentFiles.contains { $0 > 0 }, "no node gathered any entry into an extent file (\(extentFiles))")
            }
            try cluster.requireHealthy()
        }
    }

    // MARK: Workers

    /// One client: an appender, a page reader or the tail reader, by `number`, until stopped.
    private static func worker(_ number: Int, seed: UInt64, queue: Key, endpoints: [String], log: QueueLogHistory, stop: StopFlag) async {
        var random = SplitMix64(seed: seed)
        guard let client = try? await TesseraClient(endpoints: endpoints, options: .cluster(deadline: .seconds(8))) else {
            log.count("workers that could not connect")
            return
        }
        var index: Int64 = 0
        loop: while !stop.isStopped && !Task.isCancelled && !log.pastDeadline {
            if number < appenders {
                guard !log.appendsExhausted else { break loop }
                index += 1
                await perform(.append(log.key, payload: Int64(number) * 1_000_000 + index, leader: nil),
                              as: number, through: client, queue: queue, log: log)
                try? await Task.sleep(for: .milliseconds(40))
            } else if number < appenders + readers {
                let top = max(1, log.highestSequence)
                let from = random.next() % 3 == 0 ? 1 + random.next() % top : top - min(top - 1, random.next() % 20)
                await perform(.read(log.key, from: from, max: 50), as: number, through: client, queue: queue, log: log)
                try? await Task.sleep(for: .milliseconds(50))
            } else {
                await perform(.tail(log.key), as: number, through: client, queue: queue, log: log)
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
        await client.close()
    }

    /// Runs one operation through `tessera` and records it as `client`: a failed
    /// append counts as not applied only when the error says so for sure; a
    /// failed read changed nothing. Returns the output, nil if it failed.
    @discardableResult
    private static func perform(_ input: LogModel.Input, as client: Int, through tessera: TesseraClient, queue: Key,
                                log: QueueLogHistory) async -> LogModel.Output? {
        log.invoke(input, client: client)
        do {
            let output: LogModel.Output
            switch input {
            case .append(_, let id, _):
                let sequence = try await tessera.append(queue, payload: payload(for: id))
                output = .appended(seq: sequence)
            case .read(_, let from, let maximum):
                let page = try await tessera.readQueue(queue, from: from, maximum: maximum)
                output = .entries(page.entries.map { LogModel.Entry(seq: $0.sequence, payload: decodedID($0.payload)) })
            case .tail:
                let status = try await tessera.queueStatus(queue)
                output = .tail(status.lastSequence)
            default:
                preconditionFailure("this test does not \(input)")
            }
            log.complete(input, .ok(output), client: client)
            return output
        } catch {
            let mayHaveApplied: Bool = if case .append = input { !definitelyNotApplied(error) } else { false }
            log.complete(input, mayHaveApplied ? .unknown("\(error)") : .failed("\(error)"), client: client)
            return nil
        }
    }

    /// Whether a failed write was surely not applied. `internalError` and
    /// `protocolError` may carry an unknown outcome in their text: unknown too.
    private static func definitelyNotApplied(_ error: any Error) -> Bool {
        guard let error = error as? TesseraClientError, !error.writeMayHaveApplied else { return false }
        switch error {
        case .internalError, .protocolError: return false
        default: return true
        }
    }

    // MARK: Payloads

    /// The id (little-endian), then filler derived from it, `payloadSize` bytes in all.
    static func payload(for id: Int64) -> [UInt8] {
        var bytes: [UInt8] = withUnsafeBytes(of: id.littleEndian) { Array($0) }
        bytes.reserveCapacity(payloadSize)
        let seed = Int(truncatingIfNeeded: id)
        for offset in 8..<payloadSize { bytes.append(UInt8(truncatingIfNeeded: seed &* 31 &+ offset &* 7)) }
        return bytes
    }

    /// The id a payload starts with (-1 when it is too short to hold one).
    static func decodedID(_ payload: [UInt8]) -> Int64 {
        guard payload.count >= 8 else { return -1 }
        var value: UInt64 = 0
        for offset in 0..<8 { value |= UInt64(payload[offset]) << (8 * offset) }
        return Int64(bitPattern: value)
    }

    // MARK: Reading the whole queue

    /// Every entry from 1, with strong reads of up to 1,000 entries, and the last sequence.
    private static func strongEntries(_ queue: Key, through client: TesseraClient) async throws -> ([Entry], UInt64) {
        var entries: [Entry] = []
        var next: UInt64 = 1
        while true {
            let page = try await client.readQueue(queue, from: next, maximum: 1_000)
            entries += page.entries.map { Entry(sequence: $0.sequence, payload: $0.payload) }
            guard let tail = page.entries.last, tail.sequence < page.lastSequence else { return (entries, page.lastSequence) }
            next = tail.sequence + 1
        }
    }

    /// Every entry node `port` holds from 1, with eventual reads sent to it alone.
    private static func eventualEntries(_ queue: Key, port: Int) async throws -> [Entry] {
        let connection = try await DirectConnection.open(port: port, timeout: .seconds(10))
        defer { connection.disconnect() }
        var entries: [Entry] = []
        while true {
            let from = (entries.last?.sequence ?? 0) + 1
            let answer = try await connection.call(.queueRead(queue: queue.text, from: from, maximum: 10_000, consistency: .eventual))
            guard case .queueEntries(let page) = answer else { throw ClusterError("\(connection.address) answered \(answer)") }
            entries += page.entries.map { Entry(sequence: $0.sequence, payload: $0.payload) }
            guard let tail = page.entries.last, tail.sequence < page.lastSequence else { return entries }
        }
    }

    /// The last sequence node `port` has applied, by an eventual status read sent to it alone (nil: no answer).
    private static func eventualLast(_ queue: Key, port: Int) async -> UInt64? {
        guard let connection = try? await DirectConnection.open(port: port, timeout: .seconds(5)) else { return nil }
        defer { connection.disconnect() }
        guard case .queueStatus(let status)? = try? await connection.call(.queueStatus(queue: queue.text, consistency: .eventual)) else {
            return nil
        }
        return status.lastSequence
    }

    /// No gap, no duplicate, no phantom, no lost or moved acknowledged append, no damaged payload.
    private static func checkLog(_ entries: [Entry], last: UInt64, log: QueueLogHistory, cluster: LocalCluster) {
        let misplaced = entries.indices.first { entries[$0].sequence != UInt64($0 + 1) }
        let placement = misplaced.map { "entry \($0 + 1) has sequence \(entries[$0].sequence)" } ?? "they are consecutive"
        cluster.check(misplaced == nil && entries.count == Int(last),
                      "the queue's last sequence is \(last) but it holds \(entries.count) entries; \(placement)")
        var sequencesOfID: [Int64: [UInt64]] = [:]
        for entry in entries { sequencesOfID[decodedID(entry.payload), default: []].append(entry.sequence) }
        let duplicates = sequencesOfID.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
        let duplicateText = duplicates.prefix(5).map { "\($0.key) at \($0.value)" }.joined(separator: ", ")
        cluster.check(duplicates.isEmpty, "\(duplicates.count) ids are in the queue more than once: \(duplicateText)")
        let appended = log.appendedIDs
        let phantoms = sequencesOfID.keys.filter { !appended.contains($0) }.sorted()
        cluster.check(phantoms.isEmpty, "the queue holds ids no client appended: \(phantoms.prefix(5))")
        let idAt = Dictionary(entries.map { ($0.sequence, decodedID($0.payload)) }, uniquingKeysWith: { first, _ in first })
        let lost = log.acknowledged.filter { idAt[$0.sequence] != $0.id }
        let lostText = lost.prefix(5).map { ack -> String in
            let held = idAt[ack.sequence].map { "id \($0)" } ?? "nothing"
            return "seq \(ack.sequence) acknowledged for id \(ack.id) holds \(held)"
        }.joined(separator: ", ")
        cluster.check(lost.isEmpty, "\(lost.count) acknowledged appends are not at their sequence: \(lostText)")
        let damaged = entries.filter { $0.payload != payload(for: decodedID($0.payload)) }
        cluster.check(damaged.isEmpty, "\(damaged.count) payloads are damaged, at sequences \(damaged.prefix(5).map(\.sequence))")
    }
}

/// The queue's history for the checker, plus what the final checks need.
private final class QueueLogHistory: Sendable {
    enum Outcome {
        case ok(LogModel.Output)
        /// Definitely not applied (or a read: it changed nothing).
        case failed(String)
        /// May or may not have been applied.
        case unknown(String)
    }

    private struct State {
        var history = History<LogModel.Input, LogModel.Output>()
        var acknowledged: [(sequence: UInt64, id: Int64)] = []
        var appendedIDs: Set<Int64> = []
        var highestSequence: UInt64 = 0
        var counts: [String: Int] = [:]
    }

    let key: String
    let deadline: ContinuousClock.Instant
    private let state = Mutex(State())

    init(key: String, deadline: ContinuousClock.Instant) {
        self.key = key
        self.deadline = deadline
    }

    var history: History<LogModel.Input, LogModel.Output> { state.withLock { $0.history } }
    var acknowledged: [(sequence: UInt64, id: Int64)] { state.withLock { $0.acknowledged } }
    var acknowledgedCount: Int { state.withLock { $0.acknowledged.count } }
    /// Every id an append was invoked with.
    var appendedIDs: Set<Int64> { state.withLock { $0.appendedIDs } }
    /// The highest sequence an append or tail returned.
    var highestSequence: UInt64 { state.withLock { $0.highestSequence } }
    var pastDeadline: Bool { ContinuousClock.now >= deadline }
    var appendsExhausted: Bool { pastDeadline || state.withLock { $0.appendedIDs.count >= QueueClusterTests.maximumAppends } }

    var summary: String {
        let counts = state.withLock { $0.counts }
        return counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: "; ")
    }

    func count(_ label: String) { state.withLock { $0.counts[label, default: 0] += 1 } }

    func invoke(_ input: LogModel.Input, client: Int) {
        state.withLock { state in
            state.history.invoke(input, client: client)
            if case .append(_, let id, _) = input { state.appendedIDs.insert(id) }
        }
    }

    func complete(_ input: LogModel.Input, _ outcome: Outcome, client: Int) {
        let kind = switch input {
        case .append: "append"
        case .read: "read"
        case .tail: "tail"
        default: "other"
        }
        state.withLock { state in
            var label = "\(kind) ok"
            switch outcome {
            case .ok(let output):
                state.history.ok(output, client: client)
                if case .append(_, let id, _) = input, case .appended(let seq) = output {
                    state.acknowledged.append((sequence: seq, id: id))
                }
                if case .appended(let seq) = output { state.highestSequence = max(state.highestSequence, seq) }
                if case .tail(let seq) = output { state.highestSequence = max(state.highestSequence, seq) }
            case .failed(let reason):
                state.history.fail(client: client)
                label = "\(kind) failed (\(Self.shorten(reason)))"
            case .unknown(let reason):
                state.history.info(client: client)
                label = "\(kind) unknown (\(Self.shorten(reason)))"
            }
            state.counts[label, default: 0] += 1
        }
    }

    /// The reason without its per-call details, so that alike failures group.
    private static func shorten(_ reason: String) -> String {
        String((reason.split(separator: ";").first.map(String.init) ?? reason).prefix(100))
    }
}
