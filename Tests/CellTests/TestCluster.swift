import Cell
import Storage

// A tiny deterministic runtime for the replicas of one cell: one shared clock,
// a message queue the test controls, a "disk" per replica (what it persisted
// from its readies), and a state machine per replica. It follows the runtime
// contract of `Ready`: persist, then send, then apply, then `advance`.

extension NodeID {
    static let n1 = NodeID(1)
    static let n2 = NodeID(2)
    static let n3 = NodeID(3)
    static let n4 = NodeID(4)
    static let n5 = NodeID(5)
}

/// What kind of message an envelope carries (probes and promises to probes apart).
enum MessageKind: String, Hashable, Sendable {
    case probe, prepare, probePromise, promise, accept, accepted, installSnapshot

    init(_ message: CellMessage) {
        switch message {
        case .prepare(_, _, _, let probe): self = probe ? .probe : .prepare
        case .promise(_, _, let probe): self = probe ? .probePromise : .promise
        case .accept: self = .accept
        case .accepted: self = .accepted
        case .installSnapshot: self = .installSnapshot
        }
    }
}

/// One message on the simulated wire.
struct Envelope: CustomStringConvertible {
    var sequence: Int
    var from: NodeID
    var to: NodeID
    var message: CellMessage
    var deliverAt: Instant

    var kind: MessageKind { MessageKind(message) }

    /// The entries an accept carries (empty for every other message).
    var entries: [LogEntry] {
        if case .accept(_, _, _, let entries, _, _) = message { return entries }
        return []
    }

    var description: String {
        let detail: String
        switch message {
        case .prepare(let ballot, let lastIndex, _, let probe): detail = "\(probe ? "probe" : "prepare") \(ballot) last \(lastIndex)"
        case .promise(let ballot, let granted, let probe): detail = "\(probe ? "probe-" : "")promise \(ballot) \(granted)"
        case .accept(let ballot, let previous, _, let entries, let commit, _):
            detail = "accept \(ballot) after \(previous) +\(entries.count) commit \(commit)"
        case .accepted(let ballot, let success, let match, _): detail = "accepted \(ballot) \(success) \(match)"
        case .installSnapshot(let ballot, let snapshot, _): detail = "snapshot \(ballot) through \(snapshot.index)"
        }
        return "#\(sequence) \(from)→\(to) \(detail)"
    }
}

/// A command a replica's state machine applied, and what applying it did.
struct AppliedCommand: Hashable {
    var index: LogIndex
    var command: CellCommand
    var result: CellCommandResult
}

final class TestCluster {
    struct Link: Hashable {
        var from: NodeID
        var to: NodeID
    }

    let options: CellOptions
    let seed: UInt64
    /// The one clock every replica reads (no drift here).
    private(set) var now: Instant = .zero
    /// How long a message takes on the wire.
    var latency: Duration = .milliseconds(1)
    /// Upper bound on events per `run`/`runUntilQuiet`/`deliverAll` call.
    var stepLimit = 200_000

    private var replicas: [NodeID: CellReplica] = [:]
    private var createdWith: [NodeID: [NodeID]] = [:]
    /// What each replica made durable (survives `crash`).
    private(set) var persisted: [NodeID: PersistedReplicaState] = [:]
    /// Each running replica's state machine (volatile: rebuilt at `restart`).
    private(set) var stateMachines: [NodeID: CellStateMachine] = [:]
    /// The commands each replica applied since it last (re)started, in order.
    private(set) var applied: [NodeID: [AppliedCommand]] = [:]
    /// How many readies carrying a snapshot each replica produced.
    private(set) var snapshotsInstalled: [NodeID: Int] = [:]
    /// The first entry any replica reported committed at each index.
    private(set) var committed: [LogIndex: LogEntry] = [:]
    /// Broken invariants, in the order they were seen (tests expect none).
    private(set) var violations: [String] = []
    private(set) var inFlight: [Envelope] = []
    /// Every message any replica sent (or the test injected), delivered or not.
    private(set) var sent: [Envelope] = []
    private(set) var droppedCount = 0
    private var isolated: Set<NodeID> = []
    private var blocked: Set<Link> = []
    private var sequence = 0
    private var incarnations = 0

    /// A new cell of `size` replicas n1…n`size`, all followers with empty logs.
    init(size: Int, options: CellOptions = CellOptions(), seed: UInt64 = 1) {
        self.options = options
        self.seed = seed
        let members = (1...size).map { NodeID(UInt32($0)) }
        for member in members { addReplica(member, configuration: members) }
    }

    // MARK: - Looking at the cell

    /// The running replica `id` (the test must not ask for a crashed one).
    subscript(_ id: NodeID) -> CellReplica {
        guard let replica = replicas[id] else { preconditionFailure("\(id) is not running") }
        return replica
    }

    func isRunning(_ id: NodeID) -> Bool { replicas[id] != nil }

    var runningNodes: [NodeID] { replicas.keys.sorted() }

    /// Running replicas that believe they lead.
    var leaders: [CellReplica] { runningNodes.compactMap { replicas[$0] }.filter { $0.role == .leader } }

    /// The leader of the highest ballot among running replicas, if any.
    var leader: CellReplica? { leaders.max { $0.ballot < $1.ballot } }

    func stateMachine(_ id: NodeID) -> CellStateMachine { stateMachines[id] ?? CellStateMachine() }

    /// Messages sent since `mark` (a count of `sent` taken earlier).
    func sent(since mark: Int) -> ArraySlice<Envelope> { sent[mark...] }

    /// `nil` when the running replicas among `nodes` have identical state
    /// machines (items, sessions and applied index); otherwise what differs.
    func stateMachineDisagreement(among nodes: [NodeID]? = nil) -> String? {
        let chosen = (nodes ?? runningNodes).filter(isRunning)
        guard let first = chosen.first else { return nil }
        let reference = stateMachine(first)
        for other in chosen.dropFirst() {
            let machine = stateMachine(other)
            if machine.encoded() != reference.encoded() || machine.appliedIndex != reference.appliedIndex {
                return "\(first) applied through \(reference.appliedIndex) (\(reference.itemCount) items), "
                    + "\(other) through \(machine.appliedIndex) (\(machine.itemCount) items)"
            }
        }
        return nil
    }

    // MARK: - Inputs to replicas

    @discardableResult
    func propose(_ payload: LogEntry.Payload, at id: NodeID) -> ProposalResult {
        let result = self[id].propose(payload, now: now)
        settle(id)
        checkInvariants()
        return result
    }

    func renewLease(at id: NodeID) {
        self[id].renewLease(now: now)
        settle(id)
        checkInvariants()
    }

    /// The node layer of `id` suspects the node of its leader.
    func suspectLeader(at id: NodeID) {
        self[id].leaderSuspected(now: now)
        settle(id)
        checkInvariants()
    }

    /// Makes `id` campaign now (as if its election timer fired first) and
    /// delivers every message until none is left, firing no other timer.
    func elect(_ id: NodeID) {
        let replica = self[id]
        if let deadline = replica.nextDeadline { now = max(now, deadline) }
        replica.tick(now: now)
        settle(id)
        checkInvariants()
        deliverAll()
    }

    /// Compacts `id`'s log through everything its state machine applied, with
    /// the state machine's encoding, and persists the snapshot. Returns the
    /// snapshot's index, or `nil` if the replica refused.
    @discardableResult
    func compact(_ id: NodeID) -> LogIndex? {
        let replica = self[id]
        let machine = stateMachine(id)
        let index = machine.appliedIndex
        let state = machine.encoded()
        replica.compact(through: index, state: state)
        guard replica.latestSnapshotIndex == index else { return nil }
        var durable = persisted[id]!
        guard let ballot = durable.entries.first(where: { $0.index == index })?.ballot
            ?? (durable.snapshot?.index == index ? durable.snapshot?.ballot : nil)
        else {
            violations.append("\(id) compacted through \(index), which it never persisted")
            return nil
        }
        durable.snapshot = Snapshot(index: index, ballot: ballot, configuration: replica.configuration, state: state)
        durable.entries.removeAll { $0.index <= index }
        persisted[id] = durable
        return index
    }

    // MARK: - Membership of the simulation

    /// Hosts a new replica with an empty log (a new cell member, or a cell's first replicas).
    func addReplica(_ id: NodeID, configuration: [NodeID]) {
        incarnations += 1
        createdWith[id] = configuration
        persisted[id] = PersistedReplicaState(hardState: HardState(), snapshot: nil, entries: [])
        replicas[id] = CellReplica(me: id, configuration: configuration, options: options, now: now, randomSeed: seed)
        stateMachines[id] = CellStateMachine()
        applied[id] = []
        settle(id)
    }

    /// The node of `id` stops: its memory, its state machine and every message
    /// to or from it in flight are lost; what it persisted stays. When
    /// `detected`, the node layer of each peer that followed it suspects it.
    func crash(_ id: NodeID, detected: Bool = true) {
        replicas[id] = nil
        stateMachines[id] = nil
        inFlight.removeAll { $0.from == id || $0.to == id }
        if detected { reportUnreachable(id) }
    }

    /// A write torn by the crash of `id`: its last persisted entry never reached the
    /// disk (a leader sends accepts before its own write is durable).
    func tearLastPersistedEntry(_ id: NodeID) {
        precondition(replicas[id] == nil, "\(id) is running")
        persisted[id]!.entries.removeLast()
    }

    /// Rebuilds `id` from what it persisted; its state machine starts from the
    /// persisted snapshot and re-applies what the replica hands back as committed.
    func restart(_ id: NodeID) {
        precondition(replicas[id] == nil, "\(id) is running")
        incarnations += 1
        let durable = persisted[id]!
        var machine = CellStateMachine()
        if let snapshot = durable.snapshot { try! machine.restore(snapshot) }
        stateMachines[id] = machine
        applied[id] = []
        replicas[id] = CellReplica(
            me: id, configuration: createdWith[id]!, options: options, now: now,
            randomSeed: seed &+ UInt64(incarnations) &* 7919, restoring: durable)
        settle(id)
        checkInvariants()
    }

    // MARK: - The network

    /// Cuts `id` off from everyone (messages in flight to or from it are lost);
    /// the node layers on both sides suspect the leader they can no longer reach.
    func isolate(_ id: NodeID) {
        isolated.insert(id)
        drop { $0.from == id || $0.to == id }
        reportUnreachable(id)
        if let replica = replicas[id], let leader = replica.leader, leader != id {
            replica.leaderSuspected(now: now)
            settle(id)
        }
        checkInvariants()
    }

    func heal(_ id: NodeID) { isolated.remove(id) }

    func healAll() {
        isolated = []
        blocked = []
    }

    /// Loses every message from `from` to `to` from now on (one direction only;
    /// nobody is told).
    func block(from: NodeID, to: NodeID) { blocked.insert(Link(from: from, to: to)) }

    func unblock(from: NodeID, to: NodeID) { blocked.remove(Link(from: from, to: to)) }

    /// Puts a message on the wire as if `from` had sent it.
    func inject(_ message: CellMessage, from: NodeID, to: NodeID) {
        sequence += 1
        let envelope = Envelope(sequence: sequence, from: from, to: to, message: message, deliverAt: now + latency)
        sent.append(envelope)
        inFlight.append(envelope)
    }

    /// Loses the in-flight messages that match.
    func drop(where matches: (Envelope) -> Bool) {
        let before = inFlight.count
        inFlight.removeAll(where: matches)
        droppedCount += before - inFlight.count
    }

    func dropMessages(to id: NodeID) { drop { $0.to == id } }
    func dropMessages(from id: NodeID) { drop { $0.from == id } }

    /// Delivers the matching messages, oldest first, including matching ones
    /// they cause, until none matches; fires no timer. Returns how many arrived.
    @discardableResult
    func deliverAll(where matches: (Envelope) -> Bool = { _ in true }) -> Int {
        var count = 0
        while let position = earliestMessage(where: matches) {
            guard count < stepLimit else {
                violations.append("deliverAll: still delivering after \(stepLimit) messages")
                break
            }
            deliver(inFlight.remove(at: position))
            count += 1
        }
        return count
    }

    /// Delivers the messages in flight now that match, oldest first, but not
    /// the ones they cause. Returns how many arrived.
    @discardableResult
    func deliverPending(where matches: (Envelope) -> Bool = { _ in true }) -> Int {
        let chosen = inFlight.filter(matches).map(\.sequence)
        var count = 0
        for number in chosen {
            guard let position = inFlight.firstIndex(where: { $0.sequence == number }) else { continue }
            deliver(inFlight.remove(at: position))
            count += 1
        }
        return count
    }

    // MARK: - Time

    /// Fires `id`'s timer (moving the clock to its deadline), and nothing else.
    func fireTimer(_ id: NodeID) {
        guard let deadline = self[id].nextDeadline else { return }
        now = max(now, deadline)
        self[id].tick(now: now)
        settle(id)
        checkInvariants()
    }

    /// Moves the clock by `duration`, delivering messages and firing timers in
    /// time order on the way (messages first on ties).
    func run(for duration: Duration) {
        let end = now + duration
        var steps = 0
        while nextEventTime().map({ $0 <= end }) ?? false {
            guard steps < stepLimit else {
                violations.append("run: more than \(stepLimit) events before \(end)")
                break
            }
            performNextEvent()
            steps += 1
        }
        now = max(now, end)
    }

    /// Delivers messages and fires timers in time order until nothing is in
    /// flight and no replica wants a tick (`true`), or until `timeLimit` of
    /// clock time or the step limit has passed (`false`).
    @discardableResult
    func runUntilQuiet(timeLimit: Duration = .seconds(30)) -> Bool {
        let end = now + timeLimit
        var steps = 0
        while let next = nextEventTime() {
            guard next <= end, steps < stepLimit else { return false }
            performNextEvent()
            steps += 1
        }
        return true
    }

    private func nextEventTime() -> Instant? {
        let message = earliestMessage(where: { _ in true }).map { inFlight[$0].deliverAt }
        let timer = earliestTimer()?.deadline
        switch (message, timer) {
        case (let message?, let timer?): return min(message, timer)
        case (let message?, nil): return message
        case (nil, let timer?): return timer
        case (nil, nil): return nil
        }
    }

    private func performNextEvent() {
        let message = earliestMessage(where: { _ in true })
        let timer = earliestTimer()
        if let message, timer.map({ inFlight[message].deliverAt <= $0.deadline }) ?? true {
            deliver(inFlight.remove(at: message))
        } else if let timer {
            fireTimer(timer.node)
        }
    }

    private func earliestMessage(where matches: (Envelope) -> Bool) -> Int? {
        var best: Int?
        for position in inFlight.indices where matches(inFlight[position]) {
            if let current = best {
                let a = inFlight[position], b = inFlight[current]
                if (a.deliverAt, a.sequence) < (b.deliverAt, b.sequence) { best = position }
            } else {
                best = position
            }
        }
        return best
    }

    private func earliestTimer() -> (node: NodeID, deadline: Instant)? {
        var best: (node: NodeID, deadline: Instant)?
        for id in runningNodes {
            guard let deadline = replicas[id]?.nextDeadline else { continue }
            if best == nil || deadline < best!.deadline { best = (id, deadline) }
        }
        return best
    }

    // MARK: - The runtime loop

    private func canCarry(from: NodeID, to: NodeID) -> Bool {
        !isolated.contains(from) && !isolated.contains(to) && !blocked.contains(Link(from: from, to: to))
            && replicas[from] != nil && replicas[to] != nil
    }

    private func deliver(_ envelope: Envelope) {
        now = max(now, envelope.deliverAt)
        guard canCarry(from: envelope.from, to: envelope.to), let replica = replicas[envelope.to] else {
            droppedCount += 1
            return
        }
        replica.step(envelope.message, from: envelope.from, now: now)
        settle(envelope.to)
        checkInvariants()
    }

    private func send(_ message: CellMessage, from: NodeID, to: NodeID) {
        sequence += 1
        let envelope = Envelope(sequence: sequence, from: from, to: to, message: message, deliverAt: now + latency)
        sent.append(envelope)
        if canCarry(from: from, to: to) { inFlight.append(envelope) } else { droppedCount += 1 }
    }

    /// Takes readies from `id` until it has nothing more: persist, send, apply, advance.
    private func settle(_ id: NodeID) {
        guard let replica = replicas[id] else { return }
        let settled = replica.drainReadies(now: now, send: { send($1, from: id, to: $0) },
                                           persist: { persist($0, id) }, apply: { apply($0, id) })
        if !settled { violations.append("\(id) still had a non-empty ready after 10000 rounds") }
    }

    private func persist(_ ready: Ready, _ id: NodeID) {
        var durable = persisted[id]!
        durable.persist(ready)
        var expected = (durable.snapshot?.index ?? 0) + 1
        for entry in durable.entries {
            if entry.index != expected {
                violations.append("\(id) persisted a log with a gap: \(entry.index) where \(expected) was due")
                break
            }
            expected += 1
        }
        persisted[id] = durable
    }

    private func apply(_ ready: Ready, _ id: NodeID) {
        var machine = stateMachines[id] ?? CellStateMachine()
        if let snapshot = ready.snapshot {
            try! machine.restore(snapshot)
            snapshotsInstalled[id, default: 0] += 1
        }
        for entry in ready.committed {
            if let first = committed[entry.index] {
                if first != entry {
                    violations.append(
                        "slot \(entry.index) committed as \(first.ballot) \(first.payload) and again on \(id) as "
                            + "\(entry.ballot) \(entry.payload)")
                }
            } else {
                committed[entry.index] = entry
            }
            guard entry.index > machine.appliedIndex else { continue }
            guard entry.index == machine.appliedIndex + 1 else {
                violations.append("\(id) was handed \(entry.index) to apply after \(machine.appliedIndex)")
                continue
            }
            if let (command, result) = machine.apply(entry) {
                applied[id, default: []].append(AppliedCommand(index: entry.index, command: command, result: result))
            }
        }
        stateMachines[id] = machine
    }

    /// The node layers that can no longer reach `id` suspect it if it led them.
    private func reportUnreachable(_ id: NodeID) {
        for peer in runningNodes where peer != id {
            guard let replica = replicas[peer], replica.leader == id else { continue }
            replica.leaderSuspected(now: now)
            settle(peer)
        }
    }

    /// Safety checks after every event: one leader per ballot, one lease holder at a time.
    private func checkInvariants() {
        var leaderOf: [Ballot: NodeID] = [:]
        var holders: [NodeID] = []
        for id in runningNodes {
            guard let replica = replicas[id] else { continue }
            if replica.role == .leader {
                if let other = leaderOf[replica.ballot], other != id {
                    violations.append("\(other) and \(id) both lead \(replica.ballot) at \(now)")
                }
                leaderOf[replica.ballot] = id
            }
            if replica.canServeLeaseRead(now: now) { holders.append(id) }
        }
        if holders.count > 1 { violations.append("\(holders) all hold a valid lease at \(now)") }
    }
}

// MARK: - Commands in tests

extension CellCommand {
    /// A one-write command on the item with collection `key` and an empty sort
    /// key; by default the client has no other request outstanding.
    static func write(
        _ key: String, _ value: String?, condition: WriteCondition = .none, client: UInt64, sequence: UInt64,
        acknowledgedBelow: UInt64? = nil
    ) -> CellCommand {
        CellCommand(
            clientID: client, sequence: sequence, acknowledgedBelow: acknowledgedBelow ?? sequence,
            writes: [ItemWrite(key: .named(key), value: value.map { Array($0.utf8) }, condition: condition)])
    }

    static func put(_ key: String, _ value: String, client: UInt64, sequence: UInt64, acknowledgedBelow: UInt64? = nil) -> CellCommand {
        write(key, value, client: client, sequence: sequence, acknowledgedBelow: acknowledgedBelow)
    }

    /// Writes `new` if the current value is `expected` (absent when nil).
    static func compareAndSwap(_ key: String, expected: String?, new: String, client: UInt64, sequence: UInt64) -> CellCommand {
        write(key, new, condition: expected.map { .valueEquals(Array($0.utf8)) } ?? .absent, client: client, sequence: sequence)
    }

    var payload: LogEntry.Payload { .command(encoded()) }
}

extension ItemKey {
    /// The item with collection `collection` and sort key `sortKey`, both as UTF-8.
    static func named(_ collection: String, _ sortKey: String = "") -> ItemKey {
        ItemKey(collection: Array(collection.utf8), sortKey: Array(sortKey.utf8))
    }
}

extension CellStateMachine {
    func value(_ key: String) -> String? { read(.named(key)).map { String(decoding: $0.value, as: UTF8.self) } }
}

extension ProposalResult {
    /// The index an accepted proposal will have.
    var index: LogIndex? {
        if case .accepted(let index, _) = self { return index }
        return nil
    }
}
