// The human-readable record of a `tessera-bench peers` run,
// benchmarks/results/<date>.md: the machine, how it was run, the systems,
// the physical limits, a table per section and operation, the goals, the
// notes, and the chart.

import Foundation
import LoadGeneration

struct MarkdownReport {
    let results: PeerBenchResults
    let summary: PeerBenchSummary
    let goals: [PeerBenchGoal]
    /// The chart's file name relative to the report, or nil for none.
    let chartFileName: String?

    init(_ results: PeerBenchResults, chartFileName: String?) {
        self.results = results
        summary = PeerBenchSummary(results)
        goals = PeerBenchGoals.evaluate(summary)
        self.chartFileName = chartFileName
    }

    func render() -> String {
        var out = ""
        out += title()
        out += machine()
        out += howItWasRun()
        out += systems()
        out += physicalLimits()
        for section in summary.sections { out += sectionTables(section) }
        out += goalsTable()
        out += notes()
        out += chart()
        return out
    }

    // MARK: Parts

    func title() -> String {
        var out = "# Tessera against etcd, Redis and SQLite: \(Self.text(PeerBenchReport.date(of: results))) (\(Self.text(results.mode)) mode)\n\n"
        out += "Run started \(Self.text(results.startedAt)) and took \(ReportNumberFormat.duration(results.totalSeconds)). "
        out += "Every figure is the median over \(repeatsText), with the min–max over repeats in parentheses. "
        out += "Ratios are Tessera/peer: a throughput ratio above 1 means Tessera completed more operations per second; "
        out += "a latency ratio below 1 means Tessera answered sooner.\n"
        if let chartFileName {
            out += "\nChart: [\(Self.text(chartFileName))](\(Self.linkTarget(chartFileName))).\n"
        }
        let judged = goals.filter { !$0.isInformational }
        let met = judged.filter { $0.status == .met }.count
        let missed = judged.filter { $0.status == .missed }.count
        let unmeasured = judged.filter { $0.status == .notMeasured }.count
        out += "\nGoals: \(met) of \(judged.count) met, \(missed) missed, \(unmeasured) not measured (see [Goals](#goals)).\n\n"
        return out
    }

    var repeatsText: String {
        "\(results.settings.repeats) repeat\(results.settings.repeats == 1 ? "" : "s")"
    }

    func machine() -> String {
        let machine = results.machine
        var rows: [[String]] = [
            ["CPU", machine.cpu],
            ["Cores", "\(machine.cores)"],
            ["Memory", "\(ReportNumberFormat.trimmed(machine.memoryGiB)) GiB"],
            ["Kernel", machine.kernel],
            ["Data disk", machine.dataDisk],
        ]
        for (name, version) in machine.versions.sorted(by: { $0.key < $1.key }) {
            rows.append(["Version: \(name)", version])
        }
        return "## Machine\n\n" + Self.table(header: ["Item", "Value"], rows: rows, rightAligned: []) + "\n"
    }

    func howItWasRun() -> String {
        let settings = results.settings
        var out = "## How it was run\n\n"
        out += "- Mode: \(Self.text(results.mode)); \(repeatsText) of every system at every concurrency.\n"
        out += "- Each run: \(ReportNumberFormat.trimmed(settings.warmUpSeconds)) s warm-up (not recorded), then "
        out += "\(ReportNumberFormat.trimmed(settings.secondsPerRun)) s measured.\n"
        out += "- Clients: \(settings.clients.map(String.init).joined(separator: ", ")); each client keeps one request in flight.\n"
        out += "- Values: \(ReportNumberFormat.whole(Double(settings.valueBytes))) bytes; keys: "
        out += "\(ReportNumberFormat.whole(Double(settings.keys))), distribution: \(Self.text(settings.keyDistribution)).\n"
        out += "- The whole run took \(ReportNumberFormat.duration(results.totalSeconds)).\n"
        let fence = ReportTextEscaping.codeFence(for: results.command)
        out += "\nTo reproduce:\n\n\(fence)sh\n\(results.command)\n\(fence)\n\n"
        return out
    }

    func systems() -> String {
        let rows = results.systems.map { system in
            [system.label, system.id, PeerBenchSummary.title(ofSection: system.section), system.interface,
             system.configuration]
        }
        var out = "## Systems\n\n"
        out += Self.table(
            header: ["System", "Id", "Section", "Interface", "Configuration"], rows: rows, rightAligned: [])
        return out + "\n"
    }

    func physicalLimits() -> String {
        let physical = summary.physical
        var out = "## Physical limits\n\n"
        guard physical.samples > 0 else { return out + "Not measured.\n\n" }
        out += "What the machine itself allows, measured once per repeat (\(physical.samples) sample"
        out += "\(physical.samples == 1 ? "" : "s")).\n\n"
        var rows: [[String]] = []
        func row(_ name: String, _ spread: PeerBenchSummary.Spread?, _ format: (Double) -> String) {
            guard let spread else { return }
            rows.append([name, format(spread.min), format(spread.median), format(spread.max)])
        }
        let ms = { (value: Double) in ReportNumberFormat.milliseconds(value) }
        row("fsync p50, ms (4 KiB append + fdatasync)", physical.fsyncP50Milliseconds, ms)
        row("fsync p99, ms", physical.fsyncP99Milliseconds, ms)
        row("Loopback p50, ms (1-byte TCP ping-pong over 127.0.0.1)", physical.loopbackP50Milliseconds, ms)
        row("Loopback p99, ms", physical.loopbackP99Milliseconds, ms)
        let tools = physical.directWriteTools.isEmpty ? "" : ", \(physical.directWriteTools.joined(separator: ", "))"
        row("Sequential O_DIRECT writes, MB/s\(tools)", physical.directWriteMegabytesPerSecond) {
            ReportNumberFormat.whole($0)
        }
        out += Self.table(header: ["Measure", "Min", "Median", "Max"], rows: rows, rightAligned: [1, 2, 3])
        return out + "\n"
    }

    func sectionTables(_ section: String) -> String {
        var out = "## \(Self.text(PeerBenchSummary.title(ofSection: section)))\n\n"
        for operation in summary.operations(in: section) {
            out += operationTables(section: section, operation: operation)
        }
        return out
    }

    func operationTables(section: String, operation: String) -> String {
        let systems = summary.systems(in: section, operation: operation)
        let clients = summary.clients(in: section, operation: operation)
        let comparisons = results.comparisons.filter { $0.section == section && $0.operations.contains(operation) }
        var out = "### \(Self.text(operation))\n\n"
        out += "Median ops/s (min–max) and median latencies in milliseconds"
        out += comparisons.isEmpty ? ".\n\n" : "; the last columns are Tessera/peer ops/s, median (min–max of per-repeat ratios).\n\n"
        var header = ["Clients"]
        for system in systems {
            let label = label(system)
            header += ["\(label) ops/s", "\(label) p50 ms", "\(label) p99 ms"]
        }
        for comparison in comparisons { header.append("ops/s \(comparison.tessera) / \(comparison.peer)") }
        var rows: [[String]] = []
        for count in clients {
            var row = ["\(count)"]
            for system in systems {
                if let figures = summary.figures(section: section, operation: operation, system: system, clients: count) {
                    row += [
                        ReportNumberFormat.opsPerSecond(figures.opsPerSecond),
                        ReportNumberFormat.milliseconds(figures.p50Milliseconds?.median),
                        ReportNumberFormat.milliseconds(figures.p99Milliseconds?.median),
                    ]
                } else {
                    row += ["not measured", "—", "—"]
                }
            }
            for comparison in comparisons {
                let figures = summary.comparison(
                    section: section, operation: operation, tessera: comparison.tessera, peer: comparison.peer,
                    clients: count)
                row.append(ReportNumberFormat.ratio(figures.throughputRatio, paired: figures.pairedThroughputRatios))
            }
            rows.append(row)
        }
        out += Self.table(header: header, rows: rows, rightAligned: Set(1..<header.count))
        if !comparisons.isEmpty {
            out += "\nLatency ratios, Tessera/peer of the median latencies (below 1: Tessera answered sooner):\n\n"
            var header = ["Clients"]
            for comparison in comparisons {
                header += ["p50 \(comparison.tessera) / \(comparison.peer)", "p99 \(comparison.tessera) / \(comparison.peer)"]
            }
            let rows = clients.map { count in
                ["\(count)"]
                    + comparisons.flatMap { comparison in
                        let figures = summary.comparison(
                            section: section, operation: operation, tessera: comparison.tessera, peer: comparison.peer,
                            clients: count)
                        return [
                            ReportNumberFormat.ratio(figures.p50LatencyRatio),
                            ReportNumberFormat.ratio(figures.p99LatencyRatio),
                        ]
                    }
            }
            out += Self.table(header: header, rows: rows, rightAligned: Set(1..<header.count))
        }
        out += problems(section: section, operation: operation)
        return out + "\n"
    }

    /// Errors and reads that found nothing, for one table.
    func problems(section: String, operation: String) -> String {
        let figures = summary.figures.filter { $0.section == section && $0.operation == operation }
        var lines: [String] = []
        for figure in figures where figure.errors > 0 {
            var line = "- \(label(figure.system)) at \(figure.clients) client\(figure.clients == 1 ? "" : "s"): "
            line += "\(ReportNumberFormat.whole(Double(figure.errors))) error\(figure.errors == 1 ? "" : "s") "
            line += "over \(figure.runs) run\(figure.runs == 1 ? "" : "s")"
            if let first = figure.firstError { line += " (first: \(PeerBenchGoals.shortened(first, to: 200)))" }
            lines.append(Self.text(line))
        }
        for figure in figures {
            guard let found = figure.foundFraction, found.min < 1 else { continue }
            let percent = { (value: Double) in ReportNumberFormat.significant(value * 100) + "%" }
            lines.append(
                Self.text(
                    "- \(label(figure.system)) at \(figure.clients) client\(figure.clients == 1 ? "" : "s"): "
                        + "reads found a value \(percent(found.median)) of the time (min \(percent(found.min)))"))
        }
        guard !lines.isEmpty else { return "" }
        return "\nProblems:\n\n" + lines.joined(separator: "\n") + "\n"
    }

    func goalsTable() -> String {
        var out = "## Goals\n\n"
        let rows = goals.map { goal -> [String] in
            let result: String =
                switch goal.status {
                case .met: "met"
                case .missed: "**missed**"
                case .notMeasured: "not measured"
                case .informational: "info"
                }
            return [goal.text, goal.measured, goal.target, result]
        }
        out += Self.table(header: ["Goal", "Measured", "Target", "Result"], rows: rows, rightAligned: [])
        let notes = goals.flatMap { goal in goal.notes.map { "- \(goal.id): \(Self.text($0))" } }
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        return out + "\n"
    }

    func notes() -> String {
        var out = "## Notes\n\n"
        var lines = results.notes.map { "- \(Self.text($0))" }
        lines += [
            "- Throughput counts the operations that began and ended inside the measured time; latencies are nearest-rank percentiles of those operations.",
            "- Throughput ratios are Tessera/peer of the median ops/s, with the min–max of the ratios of repeats with the same index; latency ratios are Tessera/peer of the median latencies.",
            "- Every system ran on this one machine, clients and servers sharing its \(results.machine.cores) cores.",
        ]
        out += lines.joined(separator: "\n") + "\n\n"
        return out
    }

    func chart() -> String {
        guard let chartFileName else { return "" }
        let target = Self.linkTarget(chartFileName)
        return "## Chart\n\n![Throughput against clients, and p50 and p99 latency, per system](\(target))\n\n"
            + "[\(Self.text(chartFileName))](\(target))\n"
    }

    // MARK: Helpers

    func label(_ system: String) -> String {
        results.systems.first { $0.id == system }?.label ?? system
    }

    static func text(_ text: String) -> String { ReportTextEscaping.markdownText(text) }

    /// A relative link target with the characters Markdown links trip on percent-encoded.
    static func linkTarget(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case " ": out += "%20"
            case "(": out += "%28"
            case ")": out += "%29"
            case "<": out += "%3C"
            case ">": out += "%3E"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A Markdown table with escaped cells; `rightAligned` holds column indexes.
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { ReportTextEscaping.markdownCell($0) }.joined(separator: " | ") + " |\n"
        }
        var out = line(header)
        out += "|" + header.indices.map { rightAligned.contains($0) ? " ---: " : " --- " }.joined(separator: "|") + "|\n"
        for row in rows { out += line(row + Array(repeating: "", count: max(0, header.count - row.count))) }
        return out
    }
}
