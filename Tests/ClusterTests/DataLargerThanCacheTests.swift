import Client
import Foundation
import Testing

/// A node's RAM is its configured cache, not its data: a cluster holding more
/// than four times its cache serves every key, a node that missed tens of MB
/// catches up by snapshots made from the page store, and a restart reads none
/// of the data back into memory.
extension ClusterTests {
    static func largeValue(_ index: Int) -> [UInt8] {
        var value = [UInt8](repeating: UInt8(index % 251), count: 256 << 10)
        withUnsafeBytes(of: UInt32(index).littleEndian) { value.replaceSubrange(0..<4, with: $0) }
        return value
    }

    @Test(.timeLimit(.minutes(4))) func dataLargerThanTheCacheIsServedAndCaughtUpBySnapshotsFromThePageStore() async throws {
        let cacheBytes = 32 << 20
        try await LocalCluster.run(label: "larger-than-cache", serveArguments: ["--cache-bytes", "32MiB"]) { cluster in
            let lagging = 2
            let first = 0..<300, second = 300..<560  // 75 MiB with every node up, then 65 MiB the lagging node misses
            let names = (0..<second.upperBound).map { "large-\($0)" }
            func write(_ range: Range<Int>) async throws {
                try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(30))) { client in
                    await concurrently(range.count, workers: 8) { offset in
                        let index = range.lowerBound + offset
                        do {
                            _ = try await client.put(clusterKey(names[index]), value: Self.largeValue(index))
                        } catch {
                            cluster.fail("writing \(names[index]) failed: \(error)")
                        }
                    }
                }
            }
            try await write(first)
            await cluster.kill(lagging)
            try await write(second)
            cluster.note("wrote \(names.count) values of 256 KiB (\(names.count / 4) MiB per node), node \(lagging + 1) missed the last \(second.count / 4) MiB")

            // Every key reads back, strongly and from a follower's page store.
            try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(30))) { client in
                let wrong = Counter()
                await concurrently(names.count, workers: 8) { index in
                    let strong = try? await client.get(clusterKey(names[index]))
                    let eventual = try? await client.get(clusterKey(names[index]), consistency: .eventual, at: cluster.nodes[1].id)
                    if strong?.value != Self.largeValue(index) || eventual?.value != Self.largeValue(index) { wrong.increment() }
                }
                cluster.check(wrong.current == 0, "\(wrong.current) of \(names.count) keys did not read back")
            }
            let resident = [0, 1].map { cluster.residentBytes($0) ?? 0 }
            cluster.note("resident with \(names.count / 4) MiB of data and a \(cacheBytes >> 20) MiB cache: \(resident.map { "\($0 >> 20) MiB" })")
            for (index, bytes) in resident.enumerated() {
                cluster.check(bytes < cacheBytes + Self.nodeOverheadBytes,
                              "\(cluster.nodes[index].id) is resident at \(bytes >> 20) MiB, above its cache plus \(Self.nodeOverheadBytes >> 20) MiB")
            }

            // The lagging node restarts on its data and serves what it had at once.
            let restartedAt = ContinuousClock.now
            try cluster.start(lagging)
            try await cluster.waitUntilListening(lagging, timeout: .seconds(30))
            var servedAfter: Duration?
            try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(30))) { client in
                let served = await waitUntil(timeout: .seconds(30)) {
                    let item = try? await client.get(clusterKey(names[7]), consistency: .eventual, at: cluster.nodes[lagging].id)
                    return item?.value == Self.largeValue(7)
                }
                servedAfter = ContinuousClock.now - restartedAt
                cluster.check(served, "node \(lagging + 1) did not serve its own data within 30 s of its restart")

                // It catches up on what it missed: snapshots made from the leaders' page stores.
                let caughtUp = await waitUntil(timeout: .seconds(90), every: .milliseconds(500)) {
                    for index in second.reversed() {
                        let item = try? await client.get(clusterKey(names[index]), consistency: .eventual, at: cluster.nodes[lagging].id)
                        if item?.value != Self.largeValue(index) { return false }
                    }
                    return true
                }
                cluster.check(caughtUp, "node \(lagging + 1) did not catch up on the \(second.count) values it missed")
            }
            let snapshots = [0, 1].map { cluster.logLines($0, containing: "snapshot made for a follower").count }
            cluster.note("node \(lagging + 1) served \(servedAfter.map { String(format: "%.1f s", $0.seconds) } ?? "never") after its restart; "
                + "snapshots made for it: \(snapshots); its resident size \((cluster.residentBytes(lagging) ?? 0) >> 20) MiB")
            cluster.check(snapshots.reduce(0, +) > 0, "the leaders made no snapshot for the lagging node")
            cluster.check((servedAfter ?? .seconds(999)) < .seconds(10), "node \(lagging + 1) took \(servedAfter.map { "\($0)" } ?? "forever") to serve")
            let laggingResident = cluster.residentBytes(lagging) ?? 0
            cluster.check(laggingResident < cacheBytes + Self.nodeOverheadBytes,
                          "the caught-up node is resident at \(laggingResident >> 20) MiB, above its cache plus \(Self.nodeOverheadBytes >> 20) MiB")
        }
    }

    /// What a node holds besides its cache (README "Memory"): the store's
    /// changes since its last checkpoint, the cells' retained logs, messages
    /// in flight and the runtime.
    static let nodeOverheadBytes = 192 << 20
}
