import BenchReports
import LoadGeneration
import RedisDriver

/// Hand-made results for the report tests.
enum ReportFixtures {
    /// A run result with the given figures (the load loop's own initialiser wants raw latencies).
    static func result(
        opsPerSecond: Double, p50: Double?, p99: Double?, errors: Int = 0, firstError: String? = nil,
        found: Double? = nil, seconds: Double = 10
    ) -> LoadRunResult {
        var result = LoadRunResult(
            operations: Int(opsPerSecond * seconds), errors: errors, seconds: seconds, latencies: [], found: nil,
            firstError: firstError)
        result.opsPerSecond = opsPerSecond
        result.p50Milliseconds = p50
        result.p99Milliseconds = p99
        result.p999Milliseconds = p99.map { $0 * 1.5 }
        result.foundFraction = found
        return result
    }

    static func run(
        _ repeatIndex: Int, _ section: String, _ operation: String, _ system: String, clients: Int, ops: Double,
        p50: Double?, p99: Double?, errors: Int = 0, firstError: String? = nil, found: Double? = nil
    ) -> PeerBenchResults.RunRecord {
        PeerBenchResults.RunRecord(
            repeatIndex: repeatIndex, section: section, operation: operation, system: system, clients: clients,
            result: result(opsPerSecond: ops, p50: p50, p99: p99, errors: errors, firstError: firstError, found: found))
    }

    static let systems: [PeerBenchResults.SystemDescription] = [
        .init(
            id: "tessera-1", label: "Tessera, 1 node", section: "single", interface: "Tessera binary protocol over TCP",
            configuration: "fsync per group commit", isTessera: true),
        .init(
            id: "tessera-embedded", label: "Tessera engine, in-process", section: "single",
            interface: "Swift calls", configuration: "group commit", isTessera: true),
        .init(
            id: "redis", label: "Redis", section: "single", interface: "RESP over TCP",
            configuration: "appendonly yes, appendfsync always", isTessera: false),
        .init(
            id: "sqlite", label: "SQLite", section: "single", interface: "C API, in-process",
            configuration: "WAL, synchronous=FULL", isTessera: false),
        .init(
            id: "tessera-3", label: "Tessera, 3 nodes", section: "replicated", interface: "Tessera binary protocol over TCP",
            configuration: "3 replicas, fsync", isTessera: true),
        .init(
            id: "etcd-3", label: "etcd, 3 members", section: "replicated", interface: "gRPC over HTTP/2",
            configuration: "3 members, default fsync", isTessera: false),
    ]

    static let comparisons: [PeerBenchResults.Comparison] = [
        .init(section: "single", tessera: "tessera-1", peer: "redis", operations: ["put", "linearizable get"]),
        .init(section: "single", tessera: "tessera-embedded", peer: "sqlite", operations: ["put", "linearizable get"]),
        .init(section: "single", tessera: "tessera-1", peer: "sqlite", operations: ["put"]),
        .init(
            section: "replicated", tessera: "tessera-3", peer: "etcd-3",
            operations: ["put", "linearizable get", "eventual get"]),
    ]

    static func results(
        runs: [PeerBenchResults.RunRecord], physical: [PeerBenchResults.PhysicalSample] = [],
        comparisons: [PeerBenchResults.Comparison] = comparisons, systems: [PeerBenchResults.SystemDescription] = systems,
        repeats: Int = 3, clients: [Int] = [1, 16, 64], notes: [String] = []
    ) -> PeerBenchResults {
        PeerBenchResults(
            startedAt: "2025-06-01T10:00:00Z", mode: "quick",
            command: "tessera-bench peers --quick --repeats \(repeats)",
            machine: .init(
                cpu: "Test CPU @ 3.0GHz", cores: 2, memoryGiB: 7.75, kernel: "Linux 6.1.0",
                dataDisk: "ext4 on /dev/vda1", versions: ["tessera": "0.1.0", "etcd": "3.5.17", "redis": "7.0.15"]),
            settings: .init(
                repeats: repeats, warmUpSeconds: 1, secondsPerRun: 3, clients: clients, valueBytes: 100, keys: 10_000,
                keyDistribution: "uniform"),
            systems: systems, physical: physical, runs: runs, comparisons: comparisons, totalSeconds: 754,
            notes: notes)
    }

    static func physical(fsyncP50: [Double], loopbackP50: [Double]) -> [PeerBenchResults.PhysicalSample] {
        zip(fsyncP50, loopbackP50).enumerated().map { index, pair in
            PeerBenchResults.PhysicalSample(
                repeatIndex: index, fsyncP50Milliseconds: pair.0, fsyncP99Milliseconds: pair.0 * 3,
                loopbackP50Milliseconds: pair.1, loopbackP99Milliseconds: pair.1 * 4,
                directWriteMegabytesPerSecond: 900 + Double(index) * 10, directWriteTool: "dd oflag=direct")
        }
    }

    /// A full, plausible run: every system, operation and concurrency, three repeats, some noise.
    static func plausible() -> PeerBenchResults {
        var runs: [PeerBenchResults.RunRecord] = []
        // (section, operation, system, ops/s at 1 client, scaling to 64, p50 at 1 client in ms)
        let shapes: [(String, String, String, Double, Double, Double)] = [
            ("single", "put", "tessera-1", 900, 30, 1.1),
            ("single", "put", "tessera-embedded", 1_000, 60, 1.0),
            ("single", "put", "redis", 950, 9, 1.05),
            ("single", "put", "sqlite", 980, 1.2, 1.0),
            ("single", "linearizable get", "tessera-1", 25_000, 3.2, 0.04),
            ("single", "linearizable get", "tessera-embedded", 900_000, 1.8, 0.001),
            ("single", "linearizable get", "redis", 30_000, 3, 0.033),
            ("single", "linearizable get", "sqlite", 400_000, 1.5, 0.0025),
            ("replicated", "put", "tessera-3", 600, 25, 1.6),
            ("replicated", "put", "etcd-3", 400, 12, 2.4),
            ("replicated", "linearizable get", "tessera-3", 20_000, 2.6, 0.05),
            ("replicated", "linearizable get", "etcd-3", 3_000, 4.5, 0.33),
            ("replicated", "eventual get", "tessera-3", 22_000, 2.8, 0.045),
            ("replicated", "eventual get", "etcd-3", 5_000, 4, 0.2),
        ]
        for repeatIndex in 0..<3 {
            for (section, operation, system, base, scaling, p50) in shapes {
                for (step, clients) in [1, 16, 64].enumerated() {
                    let noise = 1 + 0.06 * sin(Double(repeatIndex * 7 + step * 3 + system.count))
                    let factor = step == 0 ? 1 : step == 1 ? pow(scaling, 0.7) : scaling
                    let ops = base * factor * noise
                    let latency = Double(clients) / ops * 1000
                    let p50Value = step == 0 ? p50 * noise : latency * 0.9
                    runs.append(
                        run(
                            repeatIndex, section, operation, system, clients: clients, ops: ops, p50: p50Value,
                            p99: p50Value * (3 + noise), errors: system == "etcd-3" && clients == 64 && repeatIndex == 1 ? 3 : 0,
                            firstError: system == "etcd-3" && clients == 64 && repeatIndex == 1
                                ? "etcdserver: request timed out" : nil,
                            found: operation.hasSuffix("get") ? 1 : nil))
                }
            }
        }
        return results(
            runs: runs, physical: physical(fsyncP50: [0.9, 1.0, 1.1], loopbackP50: [0.03, 0.032, 0.029]),
            notes: ["Made-up figures for a rendering check."])
    }
}

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif
