import BenchReports
import Foundation
import LoadGeneration
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The chart is well-formed, self-contained XML with every panel and system in it.
struct ReportSVGTests {
    typealias F = ReportFixtures

    final class Collector: NSObject, XMLParserDelegate {
        var elements: [String: Int] = [:]
        var texts: [String] = []
        var current = ""
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements[name, default: 0] += 1
            current = ""
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text" || name == "title" { texts.append(current) }
            current = ""
        }
    }

    static func parse(_ svg: String) throws -> Collector {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        let ok = parser.parse()
        #expect(ok, "XML parse error: \(String(describing: parser.parserError))")
        try #require(ok)
        return collector
    }

    @Test func plausibleResultsGiveWellFormedSVGWithEveryPanel() throws {
        let results = F.plausible()
        let svg = PeerBenchReport.svg(results)
        let parsed = try Self.parse(svg)
        #expect(parsed.elements["svg"] == 1)
        // 5 throughput panels with a line per system (4 + 4 + 2 + 2 + 2 = 14), and 5 latency panels.
        #expect(parsed.elements["polyline"] == 14)
        #expect(parsed.texts.contains("A. Throughput against clients"))
        #expect(parsed.texts.contains("B. Latency at the largest client count"))
        #expect(parsed.texts.contains("linearizable get, 64 clients"))
        #expect(parsed.texts.contains("eventual get"))
        for system in results.systems { #expect(parsed.texts.contains(system.label), "legend lacks \(system.label)") }
        // Self-contained: no scripts, external references or web fonts.
        #expect(!svg.contains("<script"))
        #expect(!svg.contains("href"))
        #expect(!svg.contains("@import"))
        #expect(!svg.contains("url("))
        if let directory = ProcessInfo.processInfo.environment["TESSERA_REPORT_SAMPLE_DIR"] {
            let base = URL(fileURLWithPath: directory)
            try svg.write(to: base.appendingPathComponent("sample.svg"), atomically: true, encoding: .utf8)
            try PeerBenchReport.markdown(results, chartFileName: "sample.svg")
                .write(to: base.appendingPathComponent("sample.md"), atomically: true, encoding: .utf8)
            try PeerBenchReport.json(results)
                .write(to: base.appendingPathComponent("sample.json"), atomically: true, encoding: .utf8)
            try PeerBenchReport.terminalSummary(results)
                .write(to: base.appendingPathComponent("sample.txt"), atomically: true, encoding: .utf8)
        }
    }

    @Test func textIsEscapedForXML() throws {
        var results = F.plausible()
        results.systems[2].label = "Redis <7> & \"friends\" 'n' \u{1}bell"
        results.machine.cpu = "CPU <&>"
        let svg = PeerBenchReport.svg(results)
        let parsed = try Self.parse(svg)
        #expect(svg.contains("Redis &lt;7&gt; &amp; &quot;friends&quot; &apos;n&apos; bell"))
        #expect(parsed.texts.contains("Redis <7> & \"friends\" 'n' bell"))
        #expect(parsed.texts.contains { $0.hasPrefix("CPU <&>, 2 cores") })
    }

    @Test func emptyResultsStillGiveAChart() throws {
        let results = F.results(runs: [], physical: [])
        let parsed = try Self.parse(PeerBenchReport.svg(results))
        #expect(parsed.texts.contains("No runs were recorded."))
    }

    @Test func failedRunsAndMissingSystemsDoNotBreakTheChart() throws {
        let results = F.results(runs: [
            F.run(0, "single", "put", "tessera-1", clients: 1, ops: 100, p50: 1, p99: 2),
            F.run(0, "single", "put", "redis", clients: 1, ops: 0, p50: nil, p99: nil, errors: 9),
            F.run(0, "single", "put", "tessera-1", clients: 64, ops: 50_000, p50: 1, p99: 2),
            F.run(0, "single", "put", "unknown-system", clients: 16, ops: 10, p50: 3, p99: 300),
        ])
        let svg = PeerBenchReport.svg(results)
        _ = try Self.parse(svg)
        #expect(!svg.contains("nan") && !svg.contains("inf"))
    }
}
