// What `tessera-bench peers` prints when it finishes: every comparison as one
// line of a plain-text table, then every goal with its verdict.

struct TerminalSummary {
    let results: PeerBenchResults
    let summary: PeerBenchSummary
    let goals: [PeerBenchGoal]

    init(_ results: PeerBenchResults) {
        self.results = results
        summary = PeerBenchSummary(results)
        goals = PeerBenchGoals.evaluate(summary)
    }

    func render() -> String {
        let repeats = results.settings.repeats
        var out = "tessera-bench peers, \(PeerBenchReport.date(of: results)) (\(results.mode)): "
        out += "medians over \(repeats) repeat\(repeats == 1 ? "" : "s"), min–max of per-repeat ratios in parentheses\n"
        out += "Ratios are Tessera/peer: ops/s above 1 and latency below 1 favour Tessera.\n\n"
        if summary.comparisons.isEmpty {
            out += "No comparisons.\n"
        } else {
            let header = [
                "section", "operation", "clients", "Tessera / peer", "Tessera ops/s", "peer ops/s", "ops/s ratio",
                "p50 ratio", "p99 ratio",
            ]
            let rows = summary.comparisons.map { c in
                [
                    c.section, c.operation, "\(c.clients)", "\(c.tessera) / \(c.peer)",
                    c.tesseraFigures.map { ReportNumberFormat.whole($0.opsPerSecond.median) } ?? "—",
                    c.peerFigures.map { ReportNumberFormat.whole($0.opsPerSecond.median) } ?? "—",
                    ReportNumberFormat.ratio(c.throughputRatio, paired: c.pairedThroughputRatios),
                    ReportNumberFormat.ratio(c.p50LatencyRatio), ReportNumberFormat.ratio(c.p99LatencyRatio),
                ]
            }
            out += Self.table(header: header, rows: rows, rightAligned: [2, 4, 5, 6, 7, 8])
        }
        let judged = goals.filter { !$0.isInformational }
        out += "\nGoals: \(judged.filter { $0.status == .met }.count) of \(judged.count) met, "
        out += "\(judged.filter { $0.status == .missed }.count) missed, "
        out += "\(judged.filter { $0.status == .notMeasured }.count) not measured\n"
        for goal in goals {
            let verdict: String =
                switch goal.status {
                case .met: "met"
                case .missed: "MISSED"
                case .notMeasured: "not measured"
                case .informational: "info"
                }
            out += "  " + Self.padded(verdict, to: 13) + goal.text + "\n"
            let measured = goal.status == .notMeasured ? goal.measured : "measured \(goal.measured)"
            out += "  " + String(repeating: " ", count: 13) + "\(measured); target \(goal.target)\n"
            for note in goal.notes {
                out += "  " + String(repeating: " ", count: 13) + "note: \(PeerBenchGoals.shortened(note, to: 200))\n"
            }
        }
        return out
    }

    static func padded(_ text: String, to width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    /// Columns two spaces apart, each as wide as its widest cell.
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (column, width) in widths.enumerated() {
                let cell = cells.indices.contains(column) ? cells[column] : ""
                if column > 0 { text += "  " }
                text += padded(cell, to: width, right: rightAligned.contains(column))
            }
            while text.hasSuffix(" ") { text.removeLast() }
            return text + "\n"
        }
        return all.map(line).joined()
    }
}
