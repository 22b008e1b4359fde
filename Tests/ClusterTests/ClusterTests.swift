import Client
import Foundation
import Keyspace
import Linearizability
import Synchronization
import TestSupport
import Testing
import Wire

/// Real `tessera serve` processes on 127.0.0.1, crashed, frozen and restarted
/// under client load. Serialized: each test starts its own three nodes, and on
/// two cores they must not compete for the CPU.
///
/// Set TESSERA_CLUSTER_PRINT_LOGS=1 to print the node logs' tails even when a
/// test passes, TESSERA_KEEP_CLUSTER=1 to keep the data and logs, and
/// TESSERA_CLUSTER_SEED=<n> to change the random choices of the histories.
@Suite(.serialized) struct ClusterTests {
    static let cellDepth = 6
    static var seed: UInt64 { ProcessInfo.processInfo.environment["TESSERA_CLUSTER_SEED"].flatMap { UInt64($0) } ?? 20_251_122 }

    // MARK: 1. A killed node catches up

    @Test(.timeLimit(.minutes(3))) func killedNodeCatchesUp() async throws {
        try await LocalCluster.run(label: "catch-up") { cluster in
            try await withClient(cluster.endpoints) { client in
                let ledger = WriteLedger()
                var random = SplitMix64(seed: Self.seed ^ 0x1)
                let start = ContinuousClock.now

                // 10,000 keys over all 64 cells, 64 writers on one client.
                let firstNames = (0..<10_000).map { "k\($0)" }
                let cellsCovered = Set(firstNames.map { client.placement(of: clusterKey($0)).cell }).count
                cluster.check(cellsCovered == 1 << Self.cellDepth, "the keys cover \(cellsCovered) cells, not \(1 << Self.cellDepth)")
                await concurrently(firstNames.count, workers: 64) { index in
                    guard !cluster.hasUnexpectedExit else { return }
                    await ledger.put(firstNames[index], "v\(index)-first", through: client)
                }
                cluster.note("wrote \(ledger.acknowledged.count) of \(firstNames.count) keys in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")
                cluster.check(ledger.failures.isEmpty, "\(ledger.failures.count) writes failed with all nodes up, e.g. \(ledger.failures.prefix(3))")
                ledger.clearFailures()

                // Kill the node that leads the most cells.
                try cluster.requireHealthy()
                let statuses = await cluster.statuses(through: client)
                let led = statuses.map { Int($0?.cellsLed ?? 0) }
                let victim = led.indices.max { led[$0] < led[$1] }!
                let victimID = cluster.nodes[victim].id
                cluster.note("cells led per node: \(led); SIGKILL \(victimID)")
                await cluster.kill(victim)
                let killedAt = ContinuousClock.now

                // While it is down: 1,000 more writes, strong reads of earlier keys, and a write and a strong read in every cell.
                let probes = oneKeyPerCell(prefix: "probe", client: client, cellDepth: Self.cellDepth)
                cluster.check(probes.count == 1 << Self.cellDepth, "found probe keys for only \(probes.count) cells")
                let probeList = probes.sorted { $0.key < $1.key }
                let readProblems = ProblemList()
                let cellProblems = ProblemList()
                let moreNames = (10_000..<11_000).map { "k\($0)" }
                let firstAcknowledged = ledger.acknowledged
                let readNames = Array(firstAcknowledged.keys.sorted().shuffled(using: &random).prefix(1_000))
                async let moreWrites: Void = concurrently(moreNames.count, workers: 16) { index in
                    guard !cluster.hasUnexpectedExit else { return }
                    await ledger.put(moreNames[index], "v\(10_000 + index)-down", through: client)
                }
                async let strongReads: Void = concurrently(readNames.count, workers: 8) { index in
                    guard !cluster.hasUnexpectedExit else { return }
                    let name = readNames[index]
                    do {
                        let value = try await client.get(clusterKey(name), consistency: .strong).map { String(decoding: $0.value, as: UTF8.self) }
                        if value != firstAcknowledged[name]!.value {
                            readProblems.add("strong read of \(name) with \(victimID) down gave \(value ?? "absent"), acknowledged \(firstAcknowledged[name]!.value)")
                        }
                    } catch {
                        readProblems.add("strong read of \(name) with \(victimID) down failed: \(error)")
                    }
                }
                async let cellChecks: Void = concurrently(probeList.count, workers: 8) { index in
                    guard !cluster.hasUnexpectedExit else { return }
                    let (cell, name) = probeList[index]
                    let value = "probe-\(cell)-down"
                    guard await ledger.put(name, value, through: client) else {
                        cellProblems.add("cell \(cell): the write of \(name) with \(victimID) down failed: \(ledger.failures.last ?? "?")")
                        return
                    }
                    do {
                        let read = try await client.get(clusterKey(name), consistency: .strong).map { String(decoding: $0.value, as: UTF8.self) }
                        if read != value { cellProblems.add("cell \(cell): strong read of \(name) gave \(read ?? "absent"), just wrote \(value)") }
                    } catch {
                        cellProblems.add("cell \(cell): strong read of \(name) with \(victimID) down failed: \(error)")
                    }
                }
                _ = await (moreWrites, strongReads, cellChecks)
                cluster.note("with \(victimID) down for \(String(format: "%.1f", (ContinuousClock.now - killedAt).seconds)) s: \(moreNames.count) writes (\(ledger.failures.count) failed), \(readNames.count) strong reads (\(readProblems.count) problems), \(probeList.count) cells checked (\(cellProblems.count) problems)")
                cluster.check(ledger.failures.isEmpty, "\(ledger.failures.count) writes failed with one node down, e.g. \(ledger.failures.prefix(3))")
                for problem in readProblems.all.prefix(10) { cluster.fail(problem) }
                for problem in cellProblems.all.prefix(20) { cluster.fail(problem) }
                ledger.clearFailures()

                // Restart it, touch every cell once, and wait until no replica lags.
                try cluster.requireHealthy()
                try cluster.start(victim)
                try await cluster.waitUntilListening(victim)
                let restartedAt = ContinuousClock.now
                await concurrently(probeList.count, workers: 16) { index in
                    let (cell, name) = probeList[index]
                    await ledger.put(name, "probe-\(cell)-up", through: client)
                }
                cluster.check(ledger.failures.isEmpty, "\(ledger.failures.count) writes touching each cell after the restart failed, e.g. \(ledger.failures.prefix(3))")
                var lastStatuses: [NodeStatus?] = []
                let caughtUp = await waitUntil(timeout: .seconds(30), every: .milliseconds(250)) {
                    lastStatuses = await cluster.statuses(through: client)
                    return lastStatuses.allSatisfy { status in
                        guard let status else { return false }
                        return status.lagging.isEmpty && status.cellsWithoutLeader == 0
                    }
                }
                let statusText = lastStatuses.enumerated().map { index, status in
                    guard let status else { return "\(cluster.nodes[index].id): no answer" }
                    let lagging = status.lagging.prefix(5).map { "cell \(String($0.cell, radix: 16)) on \($0.member) \($0.entriesBehind) behind" }
                    return "\(status.memberID): led \(status.cellsLed), leaderless \(status.cellsWithoutLeader), lagging \(status.lagging.count) \(lagging)"
                }.joined(separator: "; ")
                cluster.note("after the restart (\(String(format: "%.1f", (ContinuousClock.now - restartedAt).seconds)) s): \(statusText)")
                cluster.check(caughtUp, "replicas still lag or cells have no leader 30 s after \(victimID) restarted: \(statusText)")

                // Every acknowledged write, from every replica.
                try cluster.requireHealthy()
                let acknowledged = ledger.acknowledged
                let unknown = ledger.unknown
                let names = acknowledged.keys.sorted()
                var mismatches: [(node: Int, name: String, found: String?)] = []
                for index in cluster.nodes.indices {
                    let values = try await cluster.eventualValues(of: names, at: index, through: client)
                    for name in names where values[name]! != acknowledged[name]!.value && values[name]! != unknown[name] {
                        mismatches.append((index, name, values[name]!))
                    }
                }
                if !mismatches.isEmpty {
                    // Commit notices may still be on their way: look again for a few seconds.
                    cluster.note("\(mismatches.count) replica reads differ from the acknowledged values at first; retrying for up to 10 s, e.g. \(mismatches.prefix(3).map { "\(cluster.nodes[$0.node].id) \($0.name)=\($0.found ?? "absent")" })")
                    _ = await waitUntil(timeout: .seconds(10), every: .milliseconds(500)) {
                        var remaining: [(node: Int, name: String, found: String?)] = []
                        for index in cluster.nodes.indices {
                            let wrong = mismatches.filter { $0.node == index }.map(\.name)
                            guard !wrong.isEmpty, let values = try? await cluster.eventualValues(of: wrong, at: index, through: client) else {
                                remaining += mismatches.filter { $0.node == index }
                                continue
                            }
                            for name in wrong where values[name]! != acknowledged[name]!.value && values[name]! != unknown[name] {
                                remaining.append((index, name, values[name]!))
                            }
                        }
                        mismatches = remaining
                        return remaining.isEmpty
                    }
                }
                for mismatch in mismatches.prefix(20) {
                    let node = cluster.nodes[mismatch.node].id
                    cluster.fail("\(node) holds \(mismatch.found ?? "nothing") for \(mismatch.name), acknowledged \(acknowledged[mismatch.name]!.value) (version \(acknowledged[mismatch.name]!.version), cell \(client.placement(of: clusterKey(mismatch.name)).cell))")
                }
                if mismatches.count > 20 { cluster.fail("and \(mismatches.count - 20) more replica reads differ") }
                cluster.note("checked \(names.count) acknowledged keys on \(cluster.nodes.count) replicas each; \(mismatches.count) differ; whole test \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")
            }
        }
    }

    // MARK: 2. A paused leader is fenced

    @Test(.timeLimit(.minutes(2))) func pausedLeaderIsFenced() async throws {
        try await LocalCluster.run(label: "fenced") { cluster in
            let recorder = HistoryRecorder()
            var random = SplitMix64(seed: Self.seed ^ 0x2)
            let (keys, leader) = try await Self.registersSharingOneCell(prefix: "fence", cluster: cluster, recorder: recorder)
            let leaderIndex = cluster.index(of: leader)!
            let names = keys.names

            // Four clients, each its own TesseraClient, on the four keys of the cell.
            let stop = StopFlag()
            let clientCount = 4
            var clientSeeds: [UInt64] = []
            for _ in 0..<clientCount { clientSeeds.append(random.next()) }
            let workers = Task {
                await withTaskGroup(of: Void.self) { group in
                    for number in 0..<clientCount {
                        let seed = clientSeeds[number]
                        group.addTask {
                            await Self.registerClient(number: number, seed: seed, endpoints: cluster.endpoints,
                                                      keys: keys, recorder: recorder, stop: stop, options: .cluster(deadline: .seconds(6)),
                                                      cluster: cluster)
                        }
                    }
                }
            }
            defer { workers.cancel() }

            // The leader is paused once the clients are well under way.
            let underWay = await waitUntil(timeout: .seconds(60)) {
                recorder.ops.count { if case .ok? = $0.outcome { true } else { false } } >= 100 || cluster.hasUnexpectedExit
            }
            cluster.check(underWay, "fewer than 100 operations succeeded in 60 s with every node up")
            try cluster.requireHealthy()
            cluster.pause(leaderIndex)
            let pausedAt = ContinuousClock.now
            let pausedEvent = recorder.now
            cluster.note("SIGSTOP \(leader) (the leader)")

            // Writes must resume: some write invoked after the pause is acknowledged.
            var resumedAfter: Duration?
            _ = await waitUntil(timeout: .seconds(12), every: .milliseconds(50)) {
                let resumed = recorder.ops.contains { op in
                    guard op.invokedAt > pausedEvent, case .ok(let output)? = op.outcome else { return false }
                    switch op.input {
                    case .put: return true
                    case .cas: return output == .ok
                    default: return false
                    }
                }
                if resumed { resumedAfter = ContinuousClock.now - pausedAt }
                return resumed
            }
            if let resumedAfter {
                cluster.note(String(format: "writes resumed %.2f s after the pause", resumedAfter.seconds))
                cluster.check(resumedAfter < .seconds(8), "writes resumed only \(resumedAfter) after the leader was paused")
            } else {
                cluster.fail("no write was acknowledged within 12 s of pausing the leader \(leader)")
            }
            try cluster.requireHealthy()
            // A few more acknowledged operations under the new leader before the old one is addressed directly.
            let acknowledgedSoFar = recorder.ops.count { if case .ok? = $0.outcome { true } else { false } }
            _ = await waitUntil(timeout: .seconds(10)) {
                recorder.ops.count { if case .ok? = $0.outcome { true } else { false } } >= acknowledgedSoFar + 50
            }

            // Requests straight to the old leader: queued while it is frozen, then served (or refused) once it runs again.
            let directStartEvent = recorder.now
            let directConnections = try await withThrowingTaskGroup(of: DirectConnection.self) { group in
                for _ in 0..<3 { group.addTask { try await DirectConnection.open(port: cluster.nodes[leaderIndex].port, timeout: .seconds(3)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // And strong reads through the client's one-node call, `get(_:consistency:at:)`.
            let atClient = try await TesseraClient(endpoints: cluster.endpoints.enumerated().filter { $0.offset != leaderIndex }.map(\.element),
                                                   options: .cluster())
            let directAnswers = DirectAnswers()
            let directDuration = Duration.seconds(4)
            let directTask = Task {
                await withTaskGroup(of: Void.self) { group in
                    let until = ContinuousClock.now + directDuration + .milliseconds(300)
                    for (number, connection) in directConnections.enumerated() {
                        group.addTask {
                            await Self.directClient(number: number, connection: connection, keys: keys, recorder: recorder,
                                                    answers: directAnswers, until: until)
                        }
                    }
                    group.addTask {
                        await Self.directReader(number: directConnections.count, client: atClient, member: leader, keys: keys,
                                                recorder: recorder, answers: directAnswers, until: until)
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            cluster.resume(leaderIndex)
            let resumedAt = ContinuousClock.now
            await directTask.value
            for connection in directConnections { connection.disconnect() }
            await atClient.close()
            stop.stop()
            await workers.value
            cluster.note(String(format: "SIGCONT \(leader); direct requests to it for %.1f s: %@", (ContinuousClock.now - resumedAt).seconds, directAnswers.summary))

            // Final strong reads, part of the history.
            try await withClient(cluster.endpoints) { client in
                for name in names { await client.perform(.get(name), keys: keys, recorder: recorder, client: 901) }
                let status = try? await client.nodeStatus(of: leader)
                cluster.note("\(leader) now leads \(status.map { "\($0.cellsLed)" } ?? "?") cells; the cell's cached leader: \(client.placement(of: keys.keys[names[0]]!).cachedLeader ?? "none")")
            }

            let ops = recorder.ops
            cluster.note("history: \(recorder.summary())")
            cluster.note("completions per second: \(recorder.timeline())")
            print("slowest operations:\n\(recorder.slowest())")
            let reasons = recorder.failureReasons()
            if !reasons.isEmpty { print(reasons) }

            // The old leader never answers a strong read with a value overwritten before the read was sent.
            for problem in Self.staleDirectReads(ops, directClients: Self.directClientNumbers, after: directStartEvent).prefix(10) {
                cluster.fail("stale read from the old leader \(leader): \(problem)")
            }
            // Nothing the old leader refused may take effect (the checker holds refused writes to that too;
            // this says it plainly).
            let observed = Set(ops.compactMap { op -> String? in
                if case .ok(.value(let value?))? = op.outcome { return value }
                return nil
            })
            for op in ops where Self.directClientNumbers.contains(op.client) {
                guard case .fail(let reason)? = op.outcome else { continue }
                let value: String? = switch op.input {
                case .put(_, let value), .cas(_, _, let value): value
                default: nil
                }
                if let value, observed.contains(value) {
                    cluster.fail("the old leader \(leader) answered \(reason) to \(Register().describe(op.input, nil)), yet its value was read later")
                }
            }
            let result = try recorder.check()
            cluster.check(result.isLinearizable, "the history (\(ops.count) operations) is not linearizable: \(result)")
            cluster.check(directAnswers.total > 0, "no direct request to the old leader got any answer")
        }
    }

    static let directClientNumbers: Set<Int> = [100, 101, 102, 103]

    /// Strong reads of `member` alone through ``TesseraClient/get(_:consistency:at:)``, as history client 100 + `number`.
    static func directReader(number: Int, client: TesseraClient, member: String, keys: RegisterKeys, recorder: HistoryRecorder,
                             answers: DirectAnswers, until deadline: ContinuousClock.Instant) async {
        let names = keys.names
        var step = 0
        while ContinuousClock.now < deadline {
            let name = names[step % names.count]
            let handle = recorder.invoke(.get(name), client: 100 + number)
            do {
                let item = try await client.get(keys.keys[name]!, consistency: .strong, at: member)
                recorder.complete(handle, .ok(.value(item.map { String(decoding: $0.value, as: UTF8.self) })))
                answers.record(text: "read at(): item")
            } catch {
                recorder.complete(handle, .fail("\(error)"))
                let text = "\(error)"
                answers.record(text: text.contains("not the leader") ? "read at(): not the leader" : "read at(): \(text.prefix(60))")
            }
            step += 1
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends strong reads and writes to one node only, as history client 100 + `number`.
    static func directClient(number: Int, connection: DirectConnection, keys: RegisterKeys, recorder: HistoryRecorder,
                             answers: DirectAnswers, until deadline: ContinuousClock.Instant) async {
        let names = keys.names
        let clientID = UInt64(0xD1EC7000 + number)
        var sequence: UInt64 = 1
        var step = 0
        while ContinuousClock.now < deadline {
            let name = names[(step + number) % names.count]
            let input: Register.Input = step % 3 == 2 ? .put(name, "direct-\(number)-\(step)") : .get(name)
            let answer = await connection.perform(input, keys: keys, recorder: recorder, client: 100 + number,
                                                  clientID: clientID, sequence: sequence)
            answers.record(answer, isRead: step % 3 != 2)
            if case .get = input {} else { sequence += 1 }
            step += 1
            if answer == nil { return }  // the connection broke (or timed out): its later replies could not be matched
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Direct strong reads that returned a value some write had definitely replaced
    /// before the read was sent (or nothing, though a write had been acknowledged).
    static func staleDirectReads(_ ops: [HistoryRecorder.Op], directClients: Set<Int>, after start: Int) -> [String] {
        var problems: [String] = []
        for read in ops where directClients.contains(read.client) && read.invokedAt >= start {
            guard case .get(let name) = read.input, case .ok(.value(let value))? = read.outcome else { continue }
            let writes = ops.filter { op in
                guard case .ok(.ok)? = op.outcome, op.completedAt! < read.invokedAt else { return false }
                switch op.input {
                case .put(let key, _), .cas(let key, _, _): return key == name
                default: return false
                }
            }
            func written(_ op: HistoryRecorder.Op) -> String? {
                switch op.input {
                case .put(_, let value), .cas(_, _, let value): value
                default: nil
                }
            }
            guard let value else {
                if let last = writes.last { problems.append("get(\(name)) -> absent, after \(written(last)!) was acknowledged") }
                continue
            }
            guard let source = ops.first(where: { written($0) == value && $0.input.key == name }),
                  case .ok? = source.outcome, let acknowledgedAt = source.completedAt else { continue }
            if let newer = writes.first(where: { $0.invokedAt > acknowledgedAt }) {
                problems.append("get(\(name)) sent at event \(read.invokedAt) -> \(value), but \(written(newer)!) was written after it (invoked at event \(newer.invokedAt), acknowledged at \(newer.completedAt!)) before the read was sent")
            }
        }
        return problems
    }

    // MARK: 3. Concurrent clients stay linearizable

    @Test(.timeLimit(.minutes(4))) func concurrentClientsStayLinearizable() async throws {
        try await LocalCluster.run(label: "linearizable") { cluster in
            let recorder = HistoryRecorder()
            let keys = RegisterKeys((0..<4).map { clusterKey("lin-\($0)") })
            var random = SplitMix64(seed: Self.seed ^ 0x3)
            let clientCount = 8
            let clientSeeds = (0..<clientCount).map { _ in random.next() }
            let victim = try await withClient(cluster.endpoints) { client in
                // The node to kill: the leader of the first key's cell, once it has one.
                _ = try await client.put(keys.keys[keys.names[0]]!, value: Array("warm-up".utf8))
                return client.placement(of: keys.keys[keys.names[0]]!).cachedLeader.flatMap { cluster.index(of: $0) } ?? 0
            }
            // The warm-up put is part of the history's initial state.
            let warmUp = recorder.invoke(.put(keys.names[0], "warm-up"), client: 999)
            recorder.complete(warmUp, .ok(.ok))

            let stop = StopFlag()
            let start = ContinuousClock.now
            // Eight clients, each its own TesseraClient (own connections and leader cache).
            let workers = Task {
                await withTaskGroup(of: Void.self) { group in
                    for number in 0..<clientCount {
                        let seed = clientSeeds[number]
                        group.addTask {
                            await Self.registerClient(number: number, seed: seed, endpoints: cluster.endpoints, keys: keys,
                                                      recorder: recorder, stop: stop, options: .cluster(deadline: .seconds(4)),
                                                      cluster: cluster, maximumOperations: 1_500)
                        }
                    }
                }
            }
            defer { workers.cancel() }

            // Phases end on events, not on a clock: a loaded machine only makes them longer.
            func succeeded(between from: Double, and to: Double) -> Int {
                recorder.ops.count { op in
                    guard case .ok? = op.outcome, let end = op.completedSeconds else { return false }
                    return end > from && end <= to
                }
            }
            func now() -> Double { (ContinuousClock.now - recorder.origin).seconds }
            let warmedUp = await waitUntil(timeout: .seconds(60)) { succeeded(between: -1, and: .infinity) >= 150 || cluster.hasUnexpectedExit }
            cluster.check(warmedUp, "fewer than 150 operations succeeded in 60 s with every node up")
            try cluster.requireHealthy()
            cluster.note("SIGKILL \(cluster.nodes[victim].id) after \(recorder.ops.count) operations")
            await cluster.kill(victim)
            let killedAt = now()
            // Progress with the node down: the majority elects a leader and serves.
            let servedWhileDown = await waitUntil(timeout: .seconds(30)) { succeeded(between: killedAt + 0.5, and: .infinity) >= 100 }
            let whileDown = succeeded(between: killedAt, and: .infinity)
            cluster.check(servedWhileDown, "only \(whileDown) operations succeeded in the 30 s after \(cluster.nodes[victim].id) was killed")
            cluster.note("restarting \(cluster.nodes[victim].id) after \(recorder.ops.count) operations")
            try cluster.start(victim)
            try await cluster.waitUntilListening(victim)
            let restartedAt = now()
            // Progress after the restart, then the history is long enough.
            let servedAfterRestart = await waitUntil(timeout: .seconds(30)) { succeeded(between: restartedAt, and: .infinity) >= 100 }
            let afterRestart = succeeded(between: restartedAt, and: .infinity)
            cluster.check(servedAfterRestart, "only \(afterRestart) operations succeeded in the 30 s after \(cluster.nodes[victim].id) restarted")
            stop.stop()
            await workers.value
            cluster.note("history after \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s: \(recorder.summary())")
            cluster.note("completions per second: \(recorder.timeline())")
            print("slowest operations:\n\(recorder.slowest())")
            let reasons = recorder.failureReasons()
            if !reasons.isEmpty { print(reasons) }

            let checkStart = ContinuousClock.now
            let result = try recorder.check()
            cluster.note("checker: \(result.isLinearizable ? "linearizable" : result.isTimedOut ? "timed out" : "NOT linearizable") in \(String(format: "%.1f", (ContinuousClock.now - checkStart).seconds)) s")
            cluster.check(result.isLinearizable, "the history is not linearizable (seed \(Self.seed)): \(result)")
            try cluster.requireHealthy()
            cluster.note(String(format: "killed at %.1f s, restarted at %.1f s (history clock); %d operations succeeded while it was down, %d after the restart", killedAt, restartedAt, whileDown, afterRestart))

            let succeededTotal = succeeded(between: -1, and: .infinity)
            cluster.check(succeededTotal >= 200, "only \(succeededTotal) operations succeeded: too few to test anything")
        }
    }

    /// Four keys `prefix-N` in one cell, each written once (recorded in the
    /// history as its initial state), and the member that leads that cell.
    static func registersSharingOneCell(
        prefix: String, cluster: LocalCluster, recorder: HistoryRecorder
    ) async throws -> (keys: RegisterKeys, leader: String) {
        try await withClient(cluster.endpoints) { client in
            let first = clusterKey("\(prefix)-0")
            let cell = client.placement(of: first).cell
            var sameCell = [first]
            var index = 1
            while sameCell.count < 4 {
                let key = clusterKey("\(prefix)-\(index)")
                if client.placement(of: key).cell == cell { sameCell.append(key) }
                index += 1
            }
            let keys = RegisterKeys(sameCell)
            for (number, name) in keys.names.enumerated() {
                let outcome = await client.perform(.put(name, "initial-\(number)"), keys: keys, recorder: recorder, client: 900)
                guard case .ok = outcome else { throw ClusterError("initial put of \(name) failed: \(outcome)") }
            }
            guard let leader = client.placement(of: first).cachedLeader else {
                throw ClusterError("no cached leader for cell \(cell) after a write")
            }
            cluster.note("keys \(keys.names) share cell \(cell), led by \(leader)")
            return (keys, leader)
        }
    }

    /// One client of a register history: random put / strong get / compare-and-swap
    /// on `keys` until `stop` (or `maximumOperations`). CAS expects the value this
    /// client last saw, so that many of them succeed. Values are unique.
    static func registerClient(
        number: Int, seed: UInt64, endpoints: [String], keys: RegisterKeys, recorder: HistoryRecorder,
        stop: StopFlag, options: ClientOptions, cluster: LocalCluster, maximumOperations: Int = 2_000
    ) async {
        var random = SplitMix64(seed: seed)
        let client: TesseraClient
        do {
            client = try await TesseraClient(endpoints: endpoints, options: options)
        } catch {
            cluster.fail("client \(number) could not connect: \(error)")
            return
        }
        let names = keys.names
        var lastSeen: [String: String?] = [:]
        var step = 0
        while !stop.isStopped && step < maximumOperations && !Task.isCancelled && !cluster.hasUnexpectedExit {
            let name = names[random.int(0..<names.count)]
            let value = "c\(number)-\(step)"
            let roll = random.int(0..<10)
            let input: Register.Input = switch roll {
            case 0..<4: .put(name, value)
            case 4..<7: .get(name)
            default: .cas(name, expected: lastSeen[name] ?? nil, new: value)
            }
            let outcome = await client.perform(input, keys: keys, recorder: recorder, client: number)
            switch (input, outcome) {
            case (.put(_, let written), .ok), (.cas(_, _, let written), .ok(.ok)): lastSeen[name] = written
            case (.get, .ok(.value(let read))): lastSeen[name] = read
            default: break
            }
            step += 1
        }
        await client.close()
    }

    // MARK: 4. A full restart loses nothing

    @Test(.timeLimit(.minutes(2))) func fullRestartLosesNothing() async throws {
        try await LocalCluster.run(label: "full-restart") { cluster in
            let ledger = WriteLedger()
            let all = Array(cluster.nodes.indices)
            let names = (0..<2_000).map { "r\($0)" }
            try await withClient(cluster.endpoints) { client in
                let start = ContinuousClock.now
                await concurrently(names.count, workers: 32) { index in
                    guard !cluster.hasUnexpectedExit else { return }
                    await ledger.put(names[index], "a\(index)", through: client)
                }
                cluster.note("wrote \(ledger.acknowledged.count) keys in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")
                cluster.check(ledger.failures.isEmpty, "\(ledger.failures.count) writes failed, e.g. \(ledger.failures.prefix(3))")
            }

            // SIGTERM all, restart all, read everything back.
            try cluster.requireHealthy()
            let stopStart = ContinuousClock.now
            await cluster.terminate(all)
            cluster.note(String(format: "all nodes stopped by SIGTERM in %.1f s", (ContinuousClock.now - stopStart).seconds))
            for index in all { try cluster.start(index) }
            try await cluster.waitUntilAllListening()
            try await Self.verifyAll(ledger, cluster: cluster, phase: "after SIGTERM and restart")

            // Writes in flight, then SIGKILL all at once.
            try cluster.requireHealthy()
            let stop = StopFlag()
            let inFlightStart = Counter()
            try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(5))) { client in
                let writers = Task {
                    await concurrently(100_000, workers: 32) { index in
                        guard !stop.isStopped, !cluster.hasUnexpectedExit else { return }
                        inFlightStart.increment()
                        await ledger.put("s\(index)", "b\(index)", through: client)
                    }
                }
                _ = await waitUntil(timeout: .seconds(20), every: .milliseconds(20)) {
                    ledger.acknowledged.count >= names.count + 300 || cluster.hasUnexpectedExit
                }
                try cluster.requireHealthy()
                try await Task.sleep(for: .milliseconds(200))
                await cluster.killAll(all)
                stop.stop()
                writers.cancel()
                await writers.value
            }
            let acknowledgedBeforeKill = ledger.acknowledged.count - names.count
            cluster.note("SIGKILL all with writes in flight: \(acknowledgedBeforeKill) of \(inFlightStart.current) writes acknowledged, \(ledger.unknown.count) outcomes unknown")
            cluster.check(acknowledgedBeforeKill > 0, "no write was acknowledged before the kill: nothing was tested")
            for index in all { try cluster.start(index) }
            try await cluster.waitUntilAllListening()
            try await Self.verifyAll(ledger, cluster: cluster, phase: "after SIGKILL of all nodes and restart")
        }
    }

    /// Strongly reads every key the ledger knows; each must hold its acknowledged value
    /// (or, after an unknown-outcome write, that write's value or nothing newer).
    static func verifyAll(_ ledger: WriteLedger, cluster: LocalCluster, phase: String) async throws {
        let acknowledged = ledger.acknowledged
        let unknown = ledger.unknown
        let names = Set(acknowledged.keys).union(unknown.keys).sorted()
        let problems = ProblemList()
        let start = ContinuousClock.now
        try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(15))) { client in
            await concurrently(names.count, workers: 32) { index in
                guard !cluster.hasUnexpectedExit else { return }
                let name = names[index]
                let read: String?
                do {
                    read = try await client.get(clusterKey(name), consistency: .strong).map { String(decoding: $0.value, as: UTF8.self) }
                } catch {
                    problems.add("strong read of \(name) failed: \(error)")
                    return
                }
                let allowed = [acknowledged[name]?.value, unknown[name]]
                let matches = read == nil ? acknowledged[name] == nil : allowed.contains(read)
                if !matches {
                    let expected = acknowledged[name].map { "acknowledged \($0.value) (version \($0.version))" } ?? "never acknowledged"
                    problems.add("\(name) reads \(read ?? "absent"), \(expected)\(unknown[name].map { ", unknown-outcome write \($0)" } ?? "") (cell \(client.placement(of: clusterKey(name)).cell))")
                }
            }
        }
        try cluster.requireHealthy()
        cluster.note("\(phase): read back \(names.count) keys (\(acknowledged.count) acknowledged, \(unknown.count) unknown) in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s; \(problems.count) problems")
        for problem in problems.all.prefix(20) { cluster.fail("\(phase): \(problem)") }
        if problems.count > 20 { cluster.fail("\(phase): and \(problems.count - 20) more problems") }
    }
}

/// Counts of the old leader's raw answers.
final class DirectAnswers: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func record(_ answer: ClientResponse.Body?, isRead: Bool) {
        let kind = isRead ? "read" : "write"
        let text: String = switch answer {
        case nil: "\(kind): no answer"
        case .item?: "\(kind): item"
        case .written?: "\(kind): written"
        case .conditionFailed?: "\(kind): condition failed"
        case .notLeader(let hint)?: "\(kind): not leader (\(hint ?? "no hint"))"
        case .error(let code, _)?: "\(kind): error \(code)"
        case let other?: "\(kind): \(other)"
        }
        counts.withLock { $0[text, default: 0] += 1 }
    }

    func record(text: String) {
        counts.withLock { $0[text, default: 0] += 1 }
    }

    var total: Int { counts.withLock { $0.filter { !$0.key.hasSuffix("no answer") }.values.reduce(0, +) } }

    var summary: String {
        counts.withLock { counts in counts.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ") }
    }
}
