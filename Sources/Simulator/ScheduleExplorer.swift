import Cell

/// Exhaustive small-scope testing (as Physalia does): one cell of three
/// replicas, a command or two, and every order of message delivery, every
/// message loss, every timer firing and every crash (up to a bound) — each
/// reachable state visited once and checked.
public struct ScheduleExplorer {
    public struct Options: Sendable {
        public var replicas = 3
        public var commands = 1
        /// Longest schedule explored, in actions.
        public var depthMaximum = 18
        /// Crashes (with restart from what the replica persisted) per schedule.
        public var crashesMaximum = 1
        /// Messages lost per schedule.
        public var dropsMaximum = 2
        /// Times the node layer may suspect a leader's node (rightly or not):
        /// every replica that follows it then looks for a new leader.
        public var suspicionsMaximum = 1
        public var plantedBug: PlantedBug?
        /// Start from a cell whose first replica was elected with no faults, so
        /// that the bounded depth goes to the commands and the faults around them.
        public var startWithLeader = true
        public init() {}
    }

    public struct Result: Sendable, CustomStringConvertible {
        public var statesExplored = 0
        public var schedulesCompleted = 0
        public var deepestSchedule = 0
        public var committedSchedules = 0
        public var violation: String?
        public var description: String {
            "\(statesExplored) distinct states, \(schedulesCompleted) complete schedules (longest \(deepestSchedule) actions),"
                + " \(committedSchedules) committing every command"
                + (violation.map { "; VIOLATION: \($0)" } ?? "; no violation")
        }
    }

    struct Message: Hashable {
        var from: NodeID
        var to: NodeID
        var message: CellMessage
    }

    struct World {
        var replicas: [CellReplica]
        var durable: [PersistedReplicaState]
        var inFlight: [Message] = []
        var now = Instant.zero
        var proposed = 0
        var crashes = 0
        var drops = 0
        var suspicions = 0
        var committed: [LogIndex: LogEntry] = [:]
        var committedConflict = false
        var path: [String] = []

        func clone() -> World {
            var copy = self
            copy.replicas = replicas.map { $0.clone() }
            return copy
        }

        func fingerprint() -> Int {
            var hasher = Hasher()
            for replica in replicas { replica.fingerprint(into: &hasher) }
            hasher.combine(inFlight.map(\.hashValue).sorted())
        hasher.combine(committedConflict)
            hasher.combine(now)
            hasher.combine(proposed)
            hasher.combine(crashes)
            hasher.combine(drops)
            hasher.combine(suspicions)
            return hasher.finalize()
        }
    }

    public let options: Options
    private var cellOptions: CellOptions
    private var visited: Set<Int> = []
    private var result = Result()

    public init(options: Options = Options()) {
        self.options = options
        cellOptions = CellOptions()
        cellOptions.plantedBug = options.plantedBug
    }

    public mutating func explore() -> Result {
        let members = (0..<options.replicas).map { NodeID(UInt32($0)) }
        var world = World(
            replicas: members.map { CellReplica(me: $0, configuration: members, options: cellOptions, now: .zero, randomSeed: 7) },
            durable: members.map { _ in PersistedReplicaState(hardState: HardState(), snapshot: nil, entries: []) })
        for index in world.replicas.indices { settle(&world, index) }
        if options.startWithLeader { elect(&world) }
        search(world, depth: 0)
        return result
    }

    private mutating func search(_ world: World, depth: Int) {
        guard result.violation == nil, visited.insert(world.fingerprint()).inserted else { return }
        result.statesExplored += 1
        result.deepestSchedule = max(result.deepestSchedule, depth)
        if let violation = check(world) {
            result.violation = violation + " after: " + world.path.joined(separator: ", ")
            return
        }
        let actions = possibleActions(world)
        if actions.isEmpty || depth >= options.depthMaximum {
            result.schedulesCompleted += 1
            if world.committed.values.filter({ if case .command = $0.payload { true } else { false } }).count >= options.commands {
                result.committedSchedules += 1
            }
            return
        }
        for action in actions {
            var next = world.clone()
            perform(action, on: &next)
            search(next, depth: depth + 1)
        }
    }

    enum Action {
        case deliver(Int)
        case drop(Int)
        case tick(Int)
        case propose(Int)
        case crash(Int)
        case suspect(Int)
    }

    private func possibleActions(_ world: World) -> [Action] {
        var actions: [Action] = world.inFlight.indices.map { .deliver($0) }
        if world.drops < options.dropsMaximum { actions += world.inFlight.indices.map { .drop($0) } }
        // Clocks agree here, so timers fire in deadline order: only the earliest may fire next.
        let earliest = world.replicas.compactMap(\.nextDeadline).min()
        for (index, replica) in world.replicas.enumerated() {
            if let deadline = replica.nextDeadline, deadline == earliest { actions.append(.tick(index)) }
            if replica.role == .leader && world.proposed < options.commands { actions.append(.propose(index)) }
            if world.crashes < options.crashesMaximum { actions.append(.crash(index)) }
            let followed = world.replicas.contains { $0.role == .follower && $0.leader == replica.me }
            if world.suspicions < options.suspicionsMaximum && followed { actions.append(.suspect(index)) }
        }
        return actions
    }

    private func perform(_ action: Action, on world: inout World) {
        switch action {
        case .deliver(let position):
            let message = world.inFlight.remove(at: position)
            world.path.append("\(message.from)→\(message.to) \(Self.name(message.message))")
            world.replicas[Int(message.to.rawValue)].step(message.message, from: message.from, now: world.now)
            settle(&world, Int(message.to.rawValue))
        case .drop(let position):
            let message = world.inFlight.remove(at: position)
            world.drops += 1
            world.path.append("lose \(message.from)→\(message.to) \(Self.name(message.message))")
        case .tick(let index):
            let replica = world.replicas[index]
            world.now = max(world.now, replica.nextDeadline ?? world.now)
            world.path.append("tick n\(index) at \(world.now)")
            replica.tick(now: world.now)
            settle(&world, index)
        case .propose(let index):
            world.proposed += 1
            world.path.append("propose at n\(index)")
            _ = world.replicas[index].propose(.command([UInt8(world.proposed)]), now: world.now)
            settle(&world, index)
        case .suspect(let index):
            world.suspicions += 1
            world.path.append("n\(index) suspected")
            let suspected = world.replicas[index].me
            for follower in world.replicas.indices where world.replicas[follower].leader == suspected {
                world.replicas[follower].leaderSuspected(now: world.now)
                settle(&world, follower)
            }
        case .crash(let index):
            world.crashes += 1
            world.path.append("crash n\(index)")
            let members = world.replicas.map(\.me)
            world.replicas[index] = CellReplica(
                me: NodeID(UInt32(index)), configuration: members, options: cellOptions, now: world.now, randomSeed: 11,
                restoring: world.durable[index])
            settle(&world, index)
        }
    }

    /// Persists, sends and applies whatever the replica is ready to do, as a
    /// runtime would, until it has nothing more.
    private func settle(_ world: inout World, _ index: Int) {
        let replica = world.replicas[index]
        let drained = replica.drainReadies(
            now: world.now,
            send: { world.inFlight.append(Message(from: replica.me, to: $0, message: $1)) },
            persist: { world.durable[index].persist($0) },
            apply: { ready in
                for entry in ready.committed {
                    if let first = world.committed[entry.index], first != entry {
                        world.path.append("n\(index) commits \(entry.ballot) at \(entry.index) over \(first.ballot)")
                        world.committedConflict = true
                    }
                    world.committed[entry.index] = world.committed[entry.index] ?? entry
                }
            })
        if !drained { world.committedConflict = true }
    }

    /// The first replica campaigns and every message arrives in order.
    private func elect(_ world: inout World) {
        let first = world.replicas[0]
        world.now = first.nextDeadline ?? world.now
        first.tick(now: world.now)
        settle(&world, 0)
        // Deliver everything, firing the leader's own timers (commit notices) until it is idle.
        for _ in 0..<10 {
            while !world.inFlight.isEmpty {
                let message = world.inFlight.removeFirst()
                world.replicas[Int(message.to.rawValue)].step(message.message, from: message.from, now: world.now)
                settle(&world, Int(message.to.rawValue))
            }
            guard first.role == .leader, let deadline = first.nextDeadline else { break }
            world.now = max(world.now, deadline)
            first.tick(now: world.now)
            settle(&world, 0)
        }
        world.path.append("n0 elected in \(first.ballot)")
    }

    private func check(_ world: World) -> String? {
        if world.committedConflict { return "a committed slot changed" }
        var leaders: [Ballot: NodeID] = [:]
        var leaseHolders = 0
        for replica in world.replicas {
            if replica.role == .leader {
                if let other = leaders[replica.ballot] { return "\(other) and \(replica.me) both lead \(replica.ballot)" }
                leaders[replica.ballot] = replica.me
            }
            if replica.canServeLeaseRead(now: world.now) { leaseHolders += 1 }
        }
        if leaseHolders > 1 { return "\(leaseHolders) replicas hold a valid lease at \(world.now)" }
        return nil
    }

    static func name(_ message: CellMessage) -> String {
        switch message {
        case .prepare(let ballot, _, _, let probe): "\(probe ? "probe" : "prepare") \(ballot)"
        case .promise(let ballot, let granted, let probe): "\(probe ? "probe-" : "")promise \(ballot) \(granted)"
        case .accept(let ballot, let previous, _, let entries, let commit, _): "accept \(ballot) after \(previous) +\(entries.count) commit \(commit)"
        case .accepted(let ballot, let success, let match, _): "accepted \(ballot) \(success) \(match)"
        case .installSnapshot(let ballot, let snapshot, _): "snapshot \(ballot) \(snapshot.index)"
        }
    }
}
