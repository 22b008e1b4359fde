import BenchReports
import LoadGeneration
import Testing

/// Every goal is reported as met, missed or not measured, with its figure.
struct ReportGoalsTests {
    typealias F = ReportFixtures

    static func goal(_ id: String, in goals: [PeerBenchGoal]) throws -> PeerBenchGoal {
        try #require(goals.first { $0.id == id })
    }

    static let results = F.results(
        runs: [
            // Replicated put at 64: 2.5× etcd's throughput (met), but a worse p99 (missed).
            F.run(0, "replicated", "put", "tessera-3", clients: 64, ops: 2_500, p50: 10, p99: 40),
            F.run(0, "replicated", "put", "etcd-3", clients: 64, ops: 1_000, p50: 20, p99: 30, errors: 4, firstError: "timeout"),
            // Replicated put at 1 client: p50 2 ms against 1.5 × (1 + 0.1) = 1.65 ms (missed).
            F.run(0, "replicated", "put", "tessera-3", clients: 1, ops: 500, p50: 2, p99: 3),
            // Linearizable get measured up to 16 clients only: 1.9× (missed, just under).
            F.run(0, "replicated", "linearizable get", "tessera-3", clients: 16, ops: 1_998, p50: 1, p99: 2),
            F.run(0, "replicated", "linearizable get", "etcd-3", clients: 16, ops: 1_000, p50: 1, p99: 2),
            F.run(0, "replicated", "linearizable get", "tessera-3", clients: 1, ops: 500, p50: 1, p99: 2),
            F.run(0, "replicated", "linearizable get", "etcd-3", clients: 1, ops: 400, p50: 1, p99: 2),
            // Single put at 64: 3× redis; sqlite missing; embedded missing.
            F.run(0, "single", "put", "tessera-1", clients: 64, ops: 3_000, p50: 1, p99: 2),
            F.run(0, "single", "put", "redis", clients: 64, ops: 1_000, p50: 1, p99: 2),
        ],
        physical: F.physical(fsyncP50: [1.0], loopbackP50: [0.1]), repeats: 1)

    @Test func everyGoalIsListedInAFixedOrder() {
        let goals = PeerBenchReport.goals(Self.results)
        #expect(
            goals.map(\.id) == [
                "replicated-put-throughput", "replicated-put-p99", "replicated-linearizable-get-throughput",
                "single-put-vs-sqlite", "single-put-vs-redis", "single-embedded-put-vs-sqlite",
                "replicated-put-single-client-p50", "tls-put-ratio", "tls-linearizable-get-ratio",
            ])
    }

    @Test func throughputGoalMetShowsTheRatioAndTheFigures() throws {
        let goal = try Self.goal("replicated-put-throughput", in: PeerBenchReport.goals(Self.results))
        #expect(goal.status == .met)
        #expect(goal.measuredValue == 2.5)
        #expect(goal.targetValue == 2)
        #expect(goal.measured == "2.50× (2,500 vs 1,000 ops/s)")
        #expect(goal.target == "≥ 2× etcd-3")
        #expect(goal.notes.contains { $0.contains("etcd-3: 4 errors over 1 run") && $0.contains("timeout") })
    }

    @Test func latencyGoalMissedIsReported() throws {
        let goals = PeerBenchReport.goals(Self.results)
        let p99 = try Self.goal("replicated-put-p99", in: goals)
        #expect(p99.status == .missed)
        #expect(p99.measuredValue == 40)
        #expect(p99.targetValue == 30)
        #expect(p99.measured.hasPrefix("40.0 ms vs 30.0 ms"))
        let single = try Self.goal("replicated-put-single-client-p50", in: goals)
        #expect(single.status == .missed)
        #expect(single.measuredValue == 2)
        #expect(abs((single.targetValue ?? 0) - 1.65) < 1e-12)
        #expect(single.target.hasPrefix("≤ 1.65 ms"))
    }

    @Test func linearizableGetFallsBackToTheLargestClientCountMeasured() throws {
        let goal = try Self.goal("replicated-linearizable-get-throughput", in: PeerBenchReport.goals(Self.results))
        #expect(goal.text.contains("at 16 clients (largest measured; 64 not measured)"))
        #expect(goal.status == .missed)
        // 1.998 is not rounded up to look like the target.
        #expect(goal.measured.hasPrefix("1.998×"))
    }

    @Test func missingSystemsAreNotMeasuredNotMet() throws {
        let goals = PeerBenchReport.goals(Self.results)
        let sqlite = try Self.goal("single-put-vs-sqlite", in: goals)
        #expect(sqlite.status == .notMeasured)
        #expect(sqlite.measured.contains("sqlite"))
        #expect(sqlite.measuredValue == nil)
        let redis = try Self.goal("single-put-vs-redis", in: goals)
        #expect(redis.status == .met)
        #expect(redis.measuredValue == 3)
        let embedded = try Self.goal("single-embedded-put-vs-sqlite", in: goals)
        #expect(embedded.status == .notMeasured)
    }

    @Test func informationalGoalHasNoVerdict() throws {
        let results = F.results(runs: [
            F.run(0, "single", "put", "tessera-embedded", clients: 64, ops: 10_000, p50: 1, p99: 2),
            F.run(0, "single", "put", "sqlite", clients: 64, ops: 2_000, p50: 1, p99: 2),
        ])
        let goals = PeerBenchReport.goals(results)
        let embedded = try Self.goal("single-embedded-put-vs-sqlite", in: goals)
        #expect(embedded.status == .informational)
        #expect(embedded.measuredValue == 5)
        #expect(embedded.targetValue == nil)
        // Nothing replicated was run, and no physical limits: all not measured.
        for id in ["replicated-put-throughput", "replicated-put-p99", "replicated-linearizable-get-throughput",
            "replicated-put-single-client-p50"]
        {
            #expect(try Self.goal(id, in: goals).status == .notMeasured)
        }
    }

    @Test func singleClientGoalNeedsThePhysicalLimits() throws {
        let results = F.results(runs: [F.run(0, "replicated", "put", "tessera-3", clients: 1, ops: 800, p50: 1.2, p99: 2)])
        let unmeasured = try Self.goal("replicated-put-single-client-p50", in: PeerBenchReport.goals(results))
        #expect(unmeasured.status == .notMeasured)
        #expect(unmeasured.measuredValue == 1.2)
        var measured = results
        measured.physical = F.physical(fsyncP50: [0.7, 0.8, 0.9], loopbackP50: [0.05, 0.06, 0.04])
        let met = try Self.goal("replicated-put-single-client-p50", in: PeerBenchReport.goals(measured))
        #expect(met.status == .met)  // 1.2 ≤ 1.5 × (0.8 + 0.05) = 1.275
        #expect(abs((met.targetValue ?? 0) - 1.275) < 1e-12)
    }

    @Test func tlsGoalComparesTheTLSRatioWithThePlaintextOne() throws {
        let results = F.results(runs: [
            F.run(0, "replicated", "put", "tessera-3", clients: 64, ops: 4_000, p50: 1, p99: 2),
            F.run(0, "replicated", "put", "etcd-3", clients: 64, ops: 4_000, p50: 1, p99: 2),
            F.run(0, "tls", "put", "tessera-3-tls", clients: 64, ops: 3_600, p50: 1, p99: 2),
            F.run(0, "tls", "put", "etcd-3-tls", clients: 64, ops: 2_400, p50: 1, p99: 2),
            F.run(0, "replicated", "linearizable get", "tessera-3", clients: 64, ops: 20_000, p50: 1, p99: 2),
            F.run(0, "replicated", "linearizable get", "etcd-3", clients: 64, ops: 5_000, p50: 1, p99: 2),
            F.run(0, "tls", "linearizable get", "tessera-3-tls", clients: 64, ops: 9_000, p50: 1, p99: 2),
            F.run(0, "tls", "linearizable get", "etcd-3-tls", clients: 64, ops: 3_000, p50: 1, p99: 2),
        ])
        let goals = PeerBenchReport.goals(results)
        let put = try Self.goal("tls-put-ratio", in: goals)
        #expect(put.status == .met)  // 1.5× over TLS against 1× in plaintext
        #expect(put.measuredValue == 1.5)
        let get = try Self.goal("tls-linearizable-get-ratio", in: goals)
        #expect(get.status == .missed)  // 3× over TLS against 4× in plaintext
        #expect(get.measuredValue == 0.75)
        let unmeasured = try Self.goal("tls-put-ratio", in: PeerBenchReport.goals(Self.results))
        #expect(unmeasured.status == .notMeasured)
    }
}
