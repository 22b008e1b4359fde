import BenchReports
import Foundation
import LoadGeneration
import Testing

/// The JSON record is pretty-printed with sorted keys and reads back the same.
struct ReportJSONTests {
    @Test func roundTripKeepsEverything() throws {
        let results = ReportFixtures.plausible()
        let text = PeerBenchReport.json(results)
        let decoded = try PeerBenchReport.decode(json: text)
        #expect(PeerBenchReport.json(decoded) == text)
        #expect(try PeerBenchReport.decode(json: PeerBenchReport.jsonData(results)).runs.count == results.runs.count)
        #expect(decoded.runs.count == results.runs.count)
        #expect(decoded.runs[5].result.opsPerSecond == results.runs[5].result.opsPerSecond)
        #expect(decoded.machine.versions == results.machine.versions)
        // Re-rendering from the file gives the same report.
        #expect(PeerBenchReport.markdown(decoded, chartFileName: "x.svg") == PeerBenchReport.markdown(results, chartFileName: "x.svg"))
    }

    @Test func isPrettyPrintedWithSortedKeys() throws {
        let text = PeerBenchReport.json(ReportFixtures.plausible())
        #expect(text.hasPrefix("{\n  \"command\" : "))
        let comparisons = try #require(text.range(of: "\"comparisons\""))
        let machine = try #require(text.range(of: "\"machine\""))
        let startedAt = try #require(text.range(of: "\"startedAt\""))
        #expect(comparisons.lowerBound < machine.lowerBound && machine.lowerBound < startedAt.lowerBound)
        #expect(text.hasSuffix("}\n"))
    }

    @Test func nonFiniteNumbersSurvive() throws {
        var results = ReportFixtures.results(
            runs: [], physical: ReportFixtures.physical(fsyncP50: [1], loopbackP50: [0.1]))
        results.physical[0].directWriteMegabytesPerSecond = .infinity
        results.totalSeconds = .nan
        let decoded = try PeerBenchReport.decode(json: PeerBenchReport.json(results))
        #expect(decoded.physical[0].directWriteMegabytesPerSecond == .infinity)
        #expect(decoded.totalSeconds.isNaN)
    }
}
