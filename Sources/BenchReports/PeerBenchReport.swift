// The one entry point for everything `tessera-bench peers` writes from its
// results: the Markdown report, the SVG chart, the JSON record and the short
// summary printed to the terminal.

import Foundation

/// Renders a `PeerBenchResults` for people and for machines.
public enum PeerBenchReport {
    /// benchmarks/results/<date>.md: every table, the goals and a link to `chartFileName`
    /// (relative to the report; nil leaves the chart out).
    public static func markdown(_ results: PeerBenchResults, chartFileName: String?) -> String {
        MarkdownReport(results, chartFileName: chartFileName).render()
    }

    /// benchmarks/results/<date>.svg: throughput against clients and latency per system, self-contained.
    public static func svg(_ results: PeerBenchResults) -> String {
        SVGChart(results).render()
    }

    /// benchmarks/results/<date>.json: the raw results, pretty-printed with sorted keys and a final newline.
    /// (Encoding these plain values cannot fail in practice; should it, the text is a JSON object
    /// naming the error, so that the other files are still written.)
    public static func json(_ results: PeerBenchResults) -> String {
        do {
            return String(decoding: try PeerBenchJSON.encode(results), as: UTF8.self)
        } catch {
            let message = "\(error)".replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: " ")
            return "{\n  \"error\" : \"cannot encode the results: \(message)\"\n}\n"
        }
    }

    /// The same, as bytes, throwing when encoding fails.
    public static func jsonData(_ results: PeerBenchResults) throws -> Data {
        try PeerBenchJSON.encode(results)
    }

    /// Reads results written by `json(_:)`.
    public static func decode(json data: Data) throws -> PeerBenchResults {
        try PeerBenchJSON.decode(data)
    }

    /// Reads results written by `json(_:)`, from text.
    public static func decode(json text: String) throws -> PeerBenchResults {
        try PeerBenchJSON.decode(Data(text.utf8))
    }

    /// A compact plain-text table of the comparisons and the goals, for the terminal.
    public static func terminalSummary(_ results: PeerBenchResults) -> String {
        TerminalSummary(results).render()
    }

    /// Min/median/max over repeats, and Tessera/peer ratios.
    public static func summary(_ results: PeerBenchResults) -> PeerBenchSummary {
        PeerBenchSummary(results)
    }

    /// Every goal, met, missed or not measured.
    public static func goals(_ results: PeerBenchResults) -> [PeerBenchGoal] {
        PeerBenchGoals.evaluate(PeerBenchSummary(results))
    }

    /// The run's date, "2025-06-01", from `startedAt`: the stem of the result files.
    public static func date(of results: PeerBenchResults) -> String {
        let prefix = String(results.startedAt.prefix(10))
        let isDate =
            prefix.count == 10
            && prefix.enumerated().allSatisfy { offset, character in
                offset == 4 || offset == 7 ? character == "-" : character.isASCII && character.isNumber
            }
        return isDate ? prefix : results.startedAt
    }
}
