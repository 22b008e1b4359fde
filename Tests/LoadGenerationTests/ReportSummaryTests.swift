import BenchReports
import LoadGeneration
import Testing

/// Min, median and max over repeats, ratios, and per-repeat paired ratios.
struct ReportSummaryTests {
    typealias F = ReportFixtures

    @Test func spreadOfAnOddCountTakesTheMiddleValue() throws {
        let spread = try #require(PeerBenchSummary.Spread.of([3, 1, 2]))
        #expect(spread == PeerBenchSummary.Spread(min: 1, median: 2, max: 3, count: 3))
    }

    @Test func spreadOfAnEvenCountTakesTheMeanOfTheMiddleTwo() throws {
        let spread = try #require(PeerBenchSummary.Spread.of([40, 10, 30, 20]))
        #expect(spread == PeerBenchSummary.Spread(min: 10, median: 25, max: 40, count: 4))
        #expect(PeerBenchSummary.Spread.of([7])?.median == 7)
        #expect(PeerBenchSummary.Spread.of([]) == nil)
        #expect(PeerBenchSummary.Spread.of([.nan, 5])?.count == 1)
    }

    static let results = F.results(runs: [
        // tessera-3 put at 64 clients: three repeats, listed out of order.
        F.run(2, "replicated", "put", "tessera-3", clients: 64, ops: 3_000, p50: 4, p99: 9),
        F.run(0, "replicated", "put", "tessera-3", clients: 64, ops: 1_000, p50: 2, p99: 10, errors: 2, firstError: "boom"),
        F.run(1, "replicated", "put", "tessera-3", clients: 64, ops: 2_000, p50: 3, p99: 8, errors: 1),
        // etcd-3: two repeats (even count), repeat 2 missing.
        F.run(0, "replicated", "put", "etcd-3", clients: 64, ops: 500, p50: 5, p99: 20),
        F.run(1, "replicated", "put", "etcd-3", clients: 64, ops: 1_500, p50: 7, p99: 30),
        // Only tessera-3 at 1 client.
        F.run(0, "replicated", "put", "tessera-3", clients: 1, ops: 400, p50: 2.5, p99: 4),
        F.run(0, "single", "put", "tessera-1", clients: 64, ops: 9_000, p50: 1, p99: 2),
    ])

    @Test func systemFiguresSummariseRepeats() throws {
        let summary = PeerBenchSummary(Self.results)
        let t = try #require(summary.figures(section: "replicated", operation: "put", system: "tessera-3", clients: 64))
        #expect(t.runs == 3)
        #expect(t.opsPerSecond == .init(min: 1_000, median: 2_000, max: 3_000, count: 3))
        #expect(t.p50Milliseconds == .init(min: 2, median: 3, max: 4, count: 3))
        #expect(t.p99Milliseconds == .init(min: 8, median: 9, max: 10, count: 3))
        #expect(t.errors == 3)
        #expect(t.firstError == "boom")
        let e = try #require(summary.figures(section: "replicated", operation: "put", system: "etcd-3", clients: 64))
        #expect(e.opsPerSecond == .init(min: 500, median: 1_000, max: 1_500, count: 2))
        #expect(e.p99Milliseconds?.median == 25)
        #expect(e.errors == 0)
    }

    @Test func reportOrderPutsSingleBeforeReplicatedAndSystemsInTheResultsOrder() {
        let summary = PeerBenchSummary(Self.results)
        #expect(summary.sections == ["single", "replicated"])
        #expect(summary.systems(in: "replicated", operation: "put") == ["tessera-3", "etcd-3"])
        #expect(summary.clients(in: "replicated", operation: "put") == [1, 64])
        #expect(summary.operations(in: "replicated") == ["put"])
    }

    @Test func comparisonRatiosAreTesseraOverPeerOfMedians() throws {
        let summary = PeerBenchSummary(Self.results)
        let c = try #require(
            summary.comparisons.first { $0.tessera == "tessera-3" && $0.operation == "put" && $0.clients == 64 })
        #expect(c.throughputRatio == 2)  // 2,000 / 1,000
        #expect(c.p50LatencyRatio == 0.5)  // 3 / 6
        #expect(c.p99LatencyRatio == 9.0 / 25.0)
        // Repeats paired by index: 1,000/500 = 2 and 2,000/1,500 ≈ 1.33; repeat 2 has no partner.
        let paired = try #require(c.pairedThroughputRatios)
        #expect(paired.count == 2)
        #expect(abs(paired.min - 4.0 / 3.0) < 1e-12)
        #expect(paired.max == 2)
        #expect(abs(paired.median - 5.0 / 3.0) < 1e-12)
    }

    @Test func comparisonWithOneSideMissingHasNoRatio() throws {
        let summary = PeerBenchSummary(Self.results)
        let c = try #require(
            summary.comparisons.first { $0.tessera == "tessera-3" && $0.operation == "put" && $0.clients == 1 })
        #expect(c.tesseraFigures != nil)
        #expect(c.peerFigures == nil)
        #expect(!c.isMeasured)
        #expect(c.throughputRatio == nil)
        #expect(c.pairedThroughputRatios == nil)
        // Pairs the results do not list can be asked for too.
        let unlisted = summary.comparison(
            section: "replicated", operation: "put", tessera: "tessera-3", peer: "etcd-3", clients: 64)
        #expect(unlisted.throughputRatio == 2)
    }

    @Test func aPeerWithZeroThroughputGivesNoRatio() {
        let results = F.results(runs: [
            F.run(0, "single", "put", "tessera-1", clients: 1, ops: 100, p50: 1, p99: 2),
            F.run(0, "single", "put", "redis", clients: 1, ops: 0, p50: nil, p99: nil, errors: 50),
        ])
        let c = PeerBenchSummary(results).comparison(
            section: "single", operation: "put", tessera: "tessera-1", peer: "redis", clients: 1)
        #expect(c.throughputRatio == nil)
        #expect(c.p50LatencyRatio == nil)
        #expect(c.peerFigures?.p50Milliseconds == nil)
        #expect(c.peerFigures?.errors == 50)
    }

    @Test func physicalLimitsSummariseEveryField() throws {
        let results = F.results(
            runs: [], physical: F.physical(fsyncP50: [1.0, 3.0, 2.0, 4.0], loopbackP50: [0.05, 0.01, 0.03, 0.02]))
        let physical = PeerBenchSummary(results).physical
        #expect(physical.samples == 4)
        #expect(physical.fsyncP50Milliseconds == .init(min: 1, median: 2.5, max: 4, count: 4))
        #expect(physical.fsyncP99Milliseconds?.median == 7.5)
        let loopback = try #require(physical.loopbackP50Milliseconds)
        #expect(loopback.min == 0.01 && loopback.max == 0.05 && abs(loopback.median - 0.025) < 1e-12)
        #expect(physical.directWriteMegabytesPerSecond == .init(min: 900, median: 915, max: 930, count: 4))
        #expect(physical.directWriteTools == ["dd oflag=direct"])
    }
}
