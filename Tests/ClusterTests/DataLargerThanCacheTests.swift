import Client
import Foundation
import Keyspace
import Testing

/// A node's RAM is its configured cache, not its data: a cluster holding more
/// than four times its cache serves every key, a node that missed one cell of
/// more than 64 MiB (the frame limit) catches up by a snapshot made from the
/// page store and streamed in chunks, and a restart reads none of the data
/// back into memory.
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
            // 75 MiB over many cells with every node up, then 70 MiB into one cell (keys whose
            // pointers share its prefix at the cluster's cell depth) that the lagging node misses.
            let first = 0..<300, second = 300..<580
            let largeCell = CellID(containing: clusterKey("one-large-cell").pointer, depth: cluster.cellDepth)
            let inLargeCell = (0...).lazy.map { clusterKey("one-large-cell-\($0)") }
                .filter { CellID(containing: $0.pointer, depth: cluster.cellDepth) == largeCell }
            let keys = first.map { clusterKey("large-\($0)") } + Array(inLargeCell.prefix(second.count))
            func write(_ range: Range<Int>) async throws {
                try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(30))) { client in
                    await concurrently(range.count, workers: 8) { offset in
                        let index = range.lowerBound + offset
                        do {
                            _ = try await client.put(keys[index], value: Self.largeValue(index))
                        } catch {
                            cluster.fail("writing \(keys[index]) failed: \(error)")
                        }
                    }
                }
            }
            try await write(first)
            await cluster.kill(lagging)
            try await write(second)
            cluster.note("wrote \(keys.count) values of 256 KiB (\(keys.count / 4) MiB per node), node \(lagging + 1) missed the last \(second.count / 4) MiB, all in one cell")

            // Every key reads back, strongly and from a follower's page store.
            try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(30))) { client in
                let wrong = Counter()
                await concurrently(keys.count, workers: 8) { index in
                    let strong = try? await client.get(keys[index])
                    let eventual = try? await client.get(keys[index], consistency: .eventual, at: cluster.nodes[1].id)
                    if strong?.value != Self.largeValue(index) || eventual?.value != Self.largeValue(index) { wrong.increment() }
                }
                cluster.check(wrong.current == 0, "\(wrong.current) of \(keys.count) keys did not read back")
            }
            let resident = [0, 1].map { cluster.residentBytes($0) ?? 0 }
            cluster.note("resident with \(keys.count / 4) MiB of data and a \(cacheBytes >> 20) MiB cache: \(resident.map { "\($0 >> 20) MiB" })")
            for (index, bytes) in resident.enumerated() {
                cluster.check(bytes < cacheBytes + Self.nodeOverheadBytes,
                              "\(cluster.nodes[index].id) is resident at \(bytes >> 20) MiB, above its cache plus \(Self.nodeOverheadBytes >> 20) MiB")
            }

            // The lagging node restarts on its data and serves what it had at once. Then writes go on
            // in the large cell while it catches up: its snapshot is made and streamed while the cell changes.
            let overwritten = Set(second.prefix(24))
            func expected(_ index: Int) -> [UInt8] { Self.largeValue(overwritten.contains(index) ? index + 3000 : index) }
            let restartedAt = ContinuousClock.now
            try cluster.start(lagging)
            func overwrite() -> Task<Void, any Error> { Task {
                try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(30))) { client in
                    for round in 1...3 {
                        for index in overwritten.sorted() {
                            do {
                                _ = try await client.put(keys[index], value: Self.largeValue(index + 1000 * round))
                            } catch {
                                cluster.fail("overwriting \(keys[index]) failed: \(error)")
                            }
                        }
                    }
                }
            } }
            try await cluster.waitUntilListening(lagging, timeout: .seconds(30))
            var servedAfter: Duration?
            try await withClient(cluster.endpoints, options: .cluster(deadline: .seconds(30))) { client in
                let served = await waitUntil(timeout: .seconds(30)) {
                    let item = try? await client.get(keys[7], consistency: .eventual, at: cluster.nodes[lagging].id)
                    return item?.value == Self.largeValue(7)
                }
                servedAfter = ContinuousClock.now - restartedAt
                cluster.check(served, "node \(lagging + 1) did not serve its own data within 30 s of its restart")
                let overwrites = overwrite()

                // It catches up on what it missed: a snapshot made from the leader's page store, streamed.
                try await overwrites.value
                let caughtUp = await waitUntil(timeout: .seconds(90), every: .milliseconds(500)) {
                    for index in second.reversed() {
                        let item = try? await client.get(keys[index], consistency: .eventual, at: cluster.nodes[lagging].id)
                        if item?.value != expected(index) { return false }
                    }
                    return true
                }
                cluster.check(caughtUp, "node \(lagging + 1) did not catch up on the \(second.count) values it missed")
            }
            let snapshots = [0, 1].map { cluster.logLines($0, containing: "snapshot made for a follower").count }
            let streamed = cluster.logLines(lagging, containing: "snapshot received")
            cluster.note("node \(lagging + 1) served \(servedAfter.map { String(format: "%.1f s", $0.seconds) } ?? "never") after its restart; "
                + "snapshots made for it: \(snapshots); received: \(streamed.count); its resident size \((cluster.residentBytes(lagging) ?? 0) >> 20) MiB")
            cluster.check(snapshots.reduce(0, +) > 0, "the leaders made no snapshot for the lagging node")
            let largest = streamed.compactMap { line in line.firstMatch(of: /bytes=(\d+)/).flatMap { Int($0.1) } }.max() ?? 0
            cluster.check(largest > 64 << 20, "the largest snapshot the lagging node received was \(largest >> 20) MiB, not a cell over 64 MiB")
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
