import BenchReports
import LoadGeneration
import RedisDriver
import Testing

/// The Markdown report holds every part, with the figures in its tables.
struct ReportMarkdownTests {
    typealias F = ReportFixtures

    static let results = F.results(
        runs: [
            F.run(0, "replicated", "put", "tessera-3", clients: 64, ops: 4_000, p50: 10, p99: 20),
            F.run(1, "replicated", "put", "tessera-3", clients: 64, ops: 6_000, p50: 12, p99: 24),
            F.run(2, "replicated", "put", "tessera-3", clients: 64, ops: 5_000, p50: 11, p99: 22),
            F.run(0, "replicated", "put", "etcd-3", clients: 64, ops: 2_000, p50: 30, p99: 60),
            F.run(1, "replicated", "put", "etcd-3", clients: 64, ops: 2_000, p50: 30, p99: 60),
            F.run(2, "replicated", "put", "etcd-3", clients: 64, ops: 2_000, p50: 30, p99: 60, errors: 7, firstError: "deadline | exceeded"),
            F.run(0, "replicated", "put", "tessera-3", clients: 1, ops: 1_234.4, p50: 0.812, p99: 1.5),
        ],
        physical: F.physical(fsyncP50: [1.0, 2.0, 3.0], loopbackP50: [0.03, 0.04, 0.05]),
        notes: ["Redis runs with appendfsync always."])

    static let markdown = PeerBenchReport.markdown(results, chartFileName: "2025-06-01.svg")

    @Test func hasEveryPart() {
        let md = Self.markdown
        #expect(md.hasPrefix("# Tessera against etcd, Redis and SQLite: 2025-06-01 (quick mode)\n"))
        for heading in [
            "## Machine", "## How it was run", "## Systems", "## Physical limits",
            "## Replicated: 3 nodes on this machine, durable", "### put", "## Goals", "## Notes", "## Chart",
        ] {
            #expect(md.contains("\n\(heading)\n"), "missing \(heading)")
        }
        #expect(md.contains("| CPU | Test CPU @ 3.0GHz |"))
        #expect(md.contains("| Version: etcd | 3.5.17 |"))
        #expect(md.contains("tessera-bench peers --quick --repeats 3"))
        #expect(md.contains("| Redis | redis | Single node, durable | RESP over TCP | appendonly yes, appendfsync always |"))
        #expect(md.contains("- Redis runs with appendfsync always."))
        #expect(md.contains("![Throughput against clients, and p50 and p99 latency, per system](2025-06-01.svg)"))
    }

    @Test func operationTableHasARowPerClientCountWithTheRatio() {
        let md = Self.markdown
        #expect(
            md.contains(
                "| Clients | Tessera, 3 nodes ops/s | Tessera, 3 nodes p50 ms | Tessera, 3 nodes p99 ms | "
                    + "etcd, 3 members ops/s | etcd, 3 members p50 ms | etcd, 3 members p99 ms | ops/s tessera-3 / etcd-3 |"))
        // Tessera 5,000 median of 4,000–6,000; etcd 2,000 flat; ratio 2.5 with per-repeat 2–3.
        #expect(md.contains("| 64 | 5,000 (4,000–6,000) | 11.0 | 22.0 | 2,000 | 30.0 | 60.0 | 2.50× (2.00–3.00) |"))
        #expect(md.contains("| 1 | 1,234 | 0.812 | 1.50 | not measured | — | — | — |"))
        // Latency ratios, Tessera/peer.
        #expect(md.contains("| 64 | 0.367× | 0.367× |"))
        // The error, with its `|` escaped.
        #expect(md.contains("etcd, 3 members at 64 clients: 7 errors over 3 runs (first: deadline | exceeded)"))
    }

    @Test func physicalLimitsHaveMinMedianMax() {
        #expect(Self.markdown.contains("| fsync p50, ms (4 KiB append + fdatasync) | 1.00 | 2.00 | 3.00 |"))
        #expect(Self.markdown.contains("| Sequential O_DIRECT writes, MB/s, dd oflag=direct | 900 | 910 | 920 |"))
    }

    @Test func goalsTableShowsMetAndMissedAndNotMeasured() {
        let md = Self.markdown
        #expect(
            md.contains(
                "| Replicated put at 64 clients: tessera-3 median ops/s ≥ 2 × etcd-3 | 2.50× (5,000 vs 2,000 ops/s) | ≥ 2× etcd-3 | met |"))
        #expect(md.contains("| Replicated put at 64 clients: tessera-3 median p99 ≤ etcd-3 median p99 | 22.0 ms vs 60.0 ms (0.367×) |"))
        #expect(md.contains("| not measured |"))
        // 0.812 > 1.5 × (2 + 0.04) = 3.06? No: 0.812 ≤ 3.06, met.
        #expect(md.contains("| ≤ 3.06 ms = 1.5 × (2.00 + 0.0400 ms) | met |"))
        #expect(md.contains("Goals: 3 of 8 met, 0 missed, 5 not measured"))
    }

    @Test func markdownCellsAreEscaped() {
        var results = Self.results
        results.systems[0].label = "Tessera | <b>one</b>"
        let md = PeerBenchReport.markdown(results, chartFileName: nil)
        #expect(md.contains("| Tessera \\| &lt;b&gt;one&lt;/b&gt; | tessera-1 |"))
        #expect(!md.contains("## Chart"))
    }

    @Test func terminalSummaryListsComparisonsAndGoals() {
        let text = PeerBenchReport.terminalSummary(Self.results)
        #expect(text.contains("tessera-3 / etcd-3"))
        #expect(text.contains("2.50× (2.00–3.00)"))
        #expect(text.contains("Goals: 3 of 8 met, 0 missed, 5 not measured"))
        #expect(text.contains("  met          Replicated put at 64 clients: tessera-3 median ops/s ≥ 2 × etcd-3"))
        #expect(text.contains("not measured"))
    }
}
