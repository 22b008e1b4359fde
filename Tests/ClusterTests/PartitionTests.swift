import Client
import Foundation
import Keyspace
import Synchronization
import TestSupport
import Testing

/// Nodes in network namespaces of their own, joined by a bridge the test
/// makes; a cut loses packets silently, as a failed switch does.
extension ClusterTests {
    @Test(.timeLimit(.minutes(3)),
          .enabled(if: TestNetwork.unavailableReason == nil, "needs root, iproute2 and permission to make network namespaces"))
    func aLeaderCutOffForThirtySecondsIsReplacedStepsDownAndRejoinsFast() async throws {
        let network = try TestNetwork(nodes: 3)
        defer { network.tearDown() }
        try await LocalCluster.run(label: "partition", network: network) { cluster in
            let recorder = HistoryRecorder()
            var random = SplitMix64(seed: Self.seed ^ 0x7)
            let (keys, leader) = try await Self.registersSharingOneCell(prefix: "cut", cluster: cluster, recorder: recorder)
            let leaderIndex = cluster.index(of: leader)!

            let stop = StopFlag()
            let seeds = (0..<4).map { _ in random.next() }
            let workers = Task {
                await withTaskGroup(of: Void.self) { group in
                    for number in 0..<seeds.count {
                        let seed = seeds[number]
                        group.addTask {
                            await Self.registerClient(number: number, seed: seed, endpoints: cluster.endpoints, keys: keys,
                                                      recorder: recorder, stop: stop, options: .cluster(deadline: .seconds(4)),
                                                      cluster: cluster, maximumOperations: 6_000)
                        }
                    }
                }
            }
            defer { workers.cancel() }
            func okCount(invokedAfter event: Int = -1) -> Int {
                recorder.ops.count { op in
                    guard op.invokedAt > event, case .ok? = op.outcome else { return false }
                    return true
                }
            }
            let underWay = await waitUntil(timeout: .seconds(60)) { okCount() >= 100 || cluster.hasUnexpectedExit }
            cluster.check(underWay, "fewer than 100 operations succeeded in 60 s before any cut")
            try cluster.requireHealthy()

            // The cut: the leader loses every packet for 30 s.
            try network.cut(leaderIndex)
            let cutAt = ContinuousClock.now
            let cutEvent = recorder.now
            cluster.note("cut \(leader) off the network")
            let majorityServes = await waitUntil(timeout: .seconds(15), every: .milliseconds(50)) { okCount(invokedAfter: cutEvent) >= 1 }
            let servedAfter = ContinuousClock.now - cutAt
            cluster.check(majorityServes, "the majority did not serve an operation within 15 s of the leader's cut")
            cluster.note(String(format: "the majority served an operation %.1f s after the cut", servedAfter.seconds))

            // The cut-off leader steps down once its lease has lapsed: it then leads nothing.
            var ledByOldLeader: Int?
            let steppedDown = await waitUntil(timeout: .seconds(15), every: .milliseconds(200)) {
                ledByOldLeader = Self.cellsLed(by: leaderIndex, cluster: cluster, network: network)
                return ledByOldLeader == 0
            }
            cluster.check(steppedDown, "\(leader) still leads \(ledByOldLeader.map(String.init) ?? "?") cells 15 s after it was cut off")
            cluster.note(String(format: "%@ leads no cell %.1f s after the cut", leader, (ContinuousClock.now - cutAt).seconds))

            // Heal after 30 s in all: the link is back within a connect, whatever the cut's length.
            let remaining = cutAt + .seconds(30) - ContinuousClock.now
            if remaining > .zero { try await Task.sleep(for: remaining) }
            try network.heal(leaderIndex)
            let healedAt = ContinuousClock.now
            var lastSuspicions: [String] = []
            let statusClient = try await TesseraClient(endpoints: cluster.endpoints, options: .cluster(deadline: .seconds(2)))
            defer { Task { await statusClient.close() } }
            let rejoined = await waitUntil(timeout: .seconds(10), every: .milliseconds(100)) {
                let statuses = await cluster.statuses(through: statusClient)
                lastSuspicions = statuses.enumerated().map { index, status in
                    "\(cluster.nodes[index].id): \(status.map { $0.suspectedPeers.joined(separator: ",") } ?? "no answer")"
                }
                return statuses.allSatisfy { $0 != nil && $0!.suspectedPeers.isEmpty }
            }
            let rejoinedAfter = ContinuousClock.now - healedAt
            cluster.note(String(format: "after the heal, no node suspects another within %.1f s", rejoinedAfter.seconds))
            cluster.check(rejoined && rejoinedAfter < .seconds(5),
                          "\(leader) had not rejoined 5 s after the heal: \(lastSuspicions.joined(separator: "; "))")

            let healEvent = recorder.now
            let servedAfterHeal = await waitUntil(timeout: .seconds(30)) { okCount(invokedAfter: healEvent) >= 50 }
            cluster.check(servedAfterHeal, "fewer than 50 operations succeeded in the 30 s after the heal")
            stop.stop()
            await workers.value
            cluster.note("history: \(recorder.summary())")
            let result = try recorder.check()
            cluster.check(result.isLinearizable, "the history is not linearizable (seed \(Self.seed)): \(result)")
        }
    }

    /// How many cells node `index` leads, as `tessera status` run inside its
    /// namespace reports (the only place it can be asked while cut off).
    static func cellsLed(by index: Int, cluster: LocalCluster, network: TestNetwork) -> Int? {
        guard let executable = try? BuiltExecutable.url("tessera"),
            let output = try? network.runInside(index, [executable.path, "status", "--endpoint", cluster.nodes[index].address, "--json"]),
            let json = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
            let members = json["members"] as? [[String: Any]],
            let me = members.first(where: { $0["id"] as? String == cluster.nodes[index].id })
        else { return nil }
        return me["cellsLed"] as? Int
    }
}
