// benchmarks/results/<date>.svg: one self-contained picture of the run.
// Part A draws throughput against clients, one small panel per section and
// operation, one line per system with min–max whiskers; part B draws p50 and
// p99 latency per system at the largest client count, on a log scale.
// No external fonts, styles or scripts: generic font families only.

import Foundation

struct SVGChart {
    let results: PeerBenchResults
    let summary: PeerBenchSummary

    // Layout, in SVG user units (pixels).
    static let margin = 24.0
    static let panelWidth = 390.0
    static let panelHeight = 270.0
    static let gap = 22.0
    static let font = "DejaVu Sans, Helvetica, Arial, sans-serif"
    static let ink = "#222222"
    static let muted = "#666666"
    static let grid = "#e3e3e3"

    /// (section, operation) panels per section, in report order.
    let panels: [(section: String, operations: [String])]
    let columns: Int
    let width: Double
    /// Colour per system id.
    let colors: [String: String]
    /// Systems that appear in some run, in the results' order.
    let systems: [String]

    init(_ results: PeerBenchResults) {
        self.results = results
        let summary = PeerBenchSummary(results)
        self.summary = summary
        panels = summary.sections.map { ($0, summary.operations(in: $0)) }
        columns = max(1, panels.map(\.operations.count).max() ?? 1)
        width = Self.margin * 2 + Double(columns) * Self.panelWidth + Double(columns - 1) * Self.gap
        var measured: [String] = []
        for figure in summary.figures where !measured.contains(figure.system) { measured.append(figure.system) }
        let order = results.systems.map(\.id).filter { measured.contains($0) }
        systems = order + measured.filter { !order.contains($0) }
        let tesseraPalette = ["#1f5fb4", "#2e9e44", "#17a5b8", "#7b4fc4"]
        let peerPalette = ["#e0620d", "#c9267c", "#a0761c", "#d4a100", "#6b6b6b"]
        var colors: [String: String] = [:]
        var tesseraCount = 0
        var peerCount = 0
        for system in systems {
            if results.systems.first(where: { $0.id == system })?.isTessera == true {
                colors[system] = tesseraPalette[tesseraCount % tesseraPalette.count]
                tesseraCount += 1
            } else {
                colors[system] = peerPalette[peerCount % peerPalette.count]
                peerCount += 1
            }
        }
        self.colors = colors
    }

    func isTessera(_ system: String) -> Bool {
        results.systems.first { $0.id == system }?.isTessera ?? false
    }

    func label(_ system: String) -> String {
        results.systems.first { $0.id == system }?.label ?? system
    }

    // MARK: Document

    func render() -> String {
        var body = ""
        var y = Self.margin
        let repeats = results.settings.repeats
        body += text(
            "Tessera against etcd, Redis and SQLite: \(PeerBenchReport.date(of: results)) (\(results.mode) mode)",
            x: Self.margin, y: y + 18, size: 20, weight: "bold")
        y += 28
        let machine = results.machine
        body += text(
            "\(machine.cpu), \(machine.cores) cores, \(ReportNumberFormat.trimmed(machine.memoryGiB)) GiB. "
                + "Points and bars are medians of \(repeats) repeat\(repeats == 1 ? "" : "s"); whiskers span min–max over repeats.",
            x: Self.margin, y: y + 14, size: 12, fill: Self.muted)
        y += 26
        let (legendSVG, legendHeight) = legend(top: y)
        body += legendSVG
        y += legendHeight + 8

        if panels.isEmpty {
            body += text("No runs were recorded.", x: Self.margin, y: y + 20, size: 14)
            y += 40
        } else {
            body += text("A. Throughput against clients", x: Self.margin, y: y + 18, size: 16, weight: "bold")
            body += text(
                "median ops/s, more is better; solid lines Tessera, dashed lines peers"
                    + (summary.figures.contains { $0.opsPerSecond.median <= 0 }
                        ? "; a cross on the axis: no operation completed" : ""),
                x: Self.margin, y: y + 36, size: 12, fill: Self.muted)
            y += 46
            for (section, operations) in panels {
                body += text(PeerBenchSummary.title(ofSection: section), x: Self.margin, y: y + 14, size: 13, weight: "bold")
                y += 22
                for (column, operation) in operations.enumerated() {
                    body += throughputPanel(section: section, operation: operation, x: panelX(column), y: y)
                }
                y += Self.panelHeight + Self.gap
            }
            body += text("B. Latency at the largest client count", x: Self.margin, y: y + 18, size: 16, weight: "bold")
            body += text(
                "milliseconds, log scale, less is better; solid bars p50, light bars p99",
                x: Self.margin, y: y + 36, size: 12, fill: Self.muted)
            y += 46
            for (section, operations) in panels {
                body += text(PeerBenchSummary.title(ofSection: section), x: Self.margin, y: y + 14, size: 13, weight: "bold")
                y += 22
                for (column, operation) in operations.enumerated() {
                    body += latencyPanel(section: section, operation: operation, x: panelX(column), y: y)
                }
                y += Self.panelHeight + Self.gap
            }
        }
        body += text(
            "tessera-bench peers, started \(results.startedAt); every system ran on this one machine.",
            x: Self.margin, y: y + 4, size: 11, fill: Self.muted)
        let height = y + 4 + Self.margin
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" "
        out += "viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"\(Self.font)\" fill=\"\(Self.ink)\">\n"
        out += "<title>\(xml("Tessera peer benchmark \(PeerBenchReport.date(of: results))"))</title>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#ffffff\"/>\n"
        out += body
        out += "</svg>\n"
        return out
    }

    func panelX(_ column: Int) -> Double {
        Self.margin + Double(column) * (Self.panelWidth + Self.gap)
    }

    /// One entry per system, wrapped to the chart's width.
    func legend(top: Double) -> (String, Double) {
        var out = ""
        var x = Self.margin
        var y = top
        let rowHeight = 20.0
        for system in systems {
            let name = label(system)
            let itemWidth = 34 + Self.textWidth(name, size: 12) + 22
            if x + itemWidth > width - Self.margin && x > Self.margin {
                x = Self.margin
                y += rowHeight
            }
            let color = colors[system] ?? Self.muted
            out += line(x1: x, y1: y + 10, x2: x + 26, y2: y + 10, color: color, width: 2.5, dashed: !isTessera(system))
            out += "<circle cx=\"\(f(x + 13))\" cy=\"\(f(y + 10))\" r=\"3.5\" fill=\"\(color)\"/>\n"
            out += text(name, x: x + 32, y: y + 14, size: 12)
            x += itemWidth
        }
        return (out, y - top + rowHeight)
    }

    // MARK: Throughput panels

    func throughputPanel(section: String, operation: String, x: Double, y: Double) -> String {
        let clients = summary.clients(in: section, operation: operation)
        let systems = summary.systems(in: section, operation: operation)
        let all = summary.figures.filter { $0.section == section && $0.operation == operation }
        let values = all.flatMap { [$0.opsPerSecond.min, $0.opsPerSecond.max] }
        let scale = Scale.forThroughput(values)
        let plot = Plot(
            left: x + 62, right: x + Self.panelWidth - 14, top: y + 30, bottom: y + Self.panelHeight - 44)
        var out = frame(x: x, y: y)
        out += text(operation, x: x + Self.panelWidth / 2, y: y + 19, size: 13, weight: "bold", anchor: "middle")
        out += yAxis(scale: scale, plot: plot, label: "ops/s" + (scale.isLog ? " (log scale)" : ""), x: x) {
            ReportNumberFormat.compact($0)
        }
        let step = (plot.right - plot.left) / Double(max(clients.count, 1))
        func cx(_ index: Int) -> Double { plot.left + (Double(index) + 0.5) * step }
        for (index, count) in clients.enumerated() {
            out += text("\(count)", x: cx(index), y: plot.bottom + 16, size: 11, anchor: "middle", fill: Self.muted)
        }
        out += text("clients", x: (plot.left + plot.right) / 2, y: plot.bottom + 34, size: 11, anchor: "middle", fill: Self.muted)
        out += line(x1: plot.left, y1: plot.bottom, x2: plot.right, y2: plot.bottom, color: Self.muted, width: 1)
        // Systems side by side within a category, so their whiskers do not hide each other.
        let spreadWidth = min(step * 0.3, 6.0 * Double(max(systems.count - 1, 0)))
        for (rank, system) in systems.enumerated() {
            let offset = systems.count > 1 ? (Double(rank) / Double(systems.count - 1) - 0.5) * spreadWidth : 0
            let color = colors[system] ?? Self.muted
            var points: [(Double, Double)] = []
            var marks = ""
            for (index, count) in clients.enumerated() {
                guard let figure = summary.figures(section: section, operation: operation, system: system, clients: count)
                else { continue }
                let px = cx(index) + offset
                guard let median = scale.position(figure.opsPerSecond.median, plot) else {
                    // No operation completed: a cross on the axis, which a log scale cannot otherwise show.
                    marks += line(x1: px - 4, y1: plot.bottom - 4, x2: px + 4, y2: plot.bottom + 4, color: color, width: 2)
                    marks += line(x1: px - 4, y1: plot.bottom + 4, x2: px + 4, y2: plot.bottom - 4, color: color, width: 2)
                    continue
                }
                points.append((px, median))
                let low = scale.position(figure.opsPerSecond.min, plot) ?? plot.bottom
                if let high = scale.position(figure.opsPerSecond.max, plot), high < low - 0.5 {
                    marks += line(x1: px, y1: low, x2: px, y2: high, color: color, width: 1.2)
                    marks += line(x1: px - 3.5, y1: low, x2: px + 3.5, y2: low, color: color, width: 1.2)
                    marks += line(x1: px - 3.5, y1: high, x2: px + 3.5, y2: high, color: color, width: 1.2)
                }
                marks += "<circle cx=\"\(f(px))\" cy=\"\(f(median))\" r=\"3.5\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n"
            }
            if points.count > 1 {
                let path = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(isTessera(system) ? "2.4" : "2")\""
                out += isTessera(system) ? "" : " stroke-dasharray=\"6 4\""
                out += " stroke-linejoin=\"round\"/>\n"
            }
            out += marks
        }
        if systems.isEmpty { out += noData(plot) }
        return out
    }

    // MARK: Latency panels

    func latencyPanel(section: String, operation: String, x: Double, y: Double) -> String {
        let clients = summary.clients(in: section, operation: operation).max() ?? 0
        let systems = summary.systems(in: section, operation: operation)
        let figures = systems.compactMap {
            summary.figures(section: section, operation: operation, system: $0, clients: clients)
        }
        let values = figures.flatMap { figure in
            [figure.p50Milliseconds?.min, figure.p50Milliseconds?.max, figure.p99Milliseconds?.min, figure.p99Milliseconds?.max]
                .compactMap { $0 }
        }
        let scale = Scale.logarithmic(values)
        let plot = Plot(
            left: x + 62, right: x + Self.panelWidth - 14, top: y + 30, bottom: y + Self.panelHeight - 44)
        var out = frame(x: x, y: y)
        out += text(
            "\(operation), \(clients) client\(clients == 1 ? "" : "s")", x: x + Self.panelWidth / 2, y: y + 19, size: 13,
            weight: "bold", anchor: "middle")
        out += yAxis(scale: scale, plot: plot, label: "ms (log scale)", x: x) { ReportNumberFormat.trimmed($0) }
        out += line(x1: plot.left, y1: plot.bottom, x2: plot.right, y2: plot.bottom, color: Self.muted, width: 1)
        guard !systems.isEmpty else { return out + noData(plot) }
        let groupWidth = (plot.right - plot.left) / Double(systems.count)
        let barWidth = min(24, groupWidth * 0.32)
        let barGap = 3.0
        for (index, system) in systems.enumerated() {
            let center = plot.left + (Double(index) + 0.5) * groupWidth
            let lines = Self.wrap(label(system), width: groupWidth - 4, size: 10, maxLines: 3)
            for (number, part) in lines.enumerated() {
                out += text(part, x: center, y: plot.bottom + 14 + Double(number) * 12, size: 10, anchor: "middle")
            }
            guard let figure = figures.first(where: { $0.system == system }) else {
                for (number, part) in ["not measured", "at \(clients)"].enumerated() {
                    out += text(
                        part, x: center, y: plot.bottom - 22 + Double(number) * 12, size: 9, anchor: "middle",
                        fill: Self.muted)
                }
                continue
            }
            let color = colors[figure.system] ?? Self.muted
            let bars: [(PeerBenchSummary.Spread?, Double, Double)] = [
                (figure.p50Milliseconds, center - barGap / 2 - barWidth, 1.0),
                (figure.p99Milliseconds, center + barGap / 2, 0.4),
            ]
            for (spread, left, opacity) in bars {
                guard let spread, let top = scale.position(spread.median, plot) else {
                    out += text("—", x: left + barWidth / 2, y: plot.bottom - 4, size: 10, anchor: "middle", fill: Self.muted)
                    continue
                }
                out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(barWidth))\" height=\"\(f(max(plot.bottom - top, 0.5)))\" "
                out += "fill=\"\(color)\" fill-opacity=\"\(opacity)\" stroke=\"\(color)\" stroke-width=\"1\"/>\n"
                let middle = left + barWidth / 2
                var labelY = top - 4
                if let low = scale.position(spread.min, plot), let high = scale.position(spread.max, plot), high < low - 0.5 {
                    out += line(x1: middle, y1: low, x2: middle, y2: high, color: Self.ink, width: 1)
                    out += line(x1: middle - 3, y1: high, x2: middle + 3, y2: high, color: Self.ink, width: 1)
                    out += line(x1: middle - 3, y1: low, x2: middle + 3, y2: low, color: Self.ink, width: 1)
                    labelY = min(labelY, high - 4)
                }
                out += text(
                    ReportNumberFormat.milliseconds(spread.median), x: middle, y: max(labelY, plot.top - 2), size: 9,
                    anchor: "middle")
            }
        }
        return out
    }

    // MARK: Pieces

    struct Plot {
        var left: Double
        var right: Double
        var top: Double
        var bottom: Double
    }

    /// A y scale: linear from 0, or logarithmic between decades.
    struct Scale {
        var low: Double
        var high: Double
        var isLog: Bool
        var ticks: [Double]

        /// Linear from zero unless the values span more than 20×, then logarithmic.
        static func forThroughput(_ values: [Double]) -> Scale {
            let positive = values.filter { $0 > 0 && $0.isFinite }
            guard let top = positive.max(), let bottom = positive.min() else {
                return Scale(low: 0, high: 1, isLog: false, ticks: [0, 0.5, 1])
            }
            if top / bottom > 20 { return logarithmic(positive) }
            let step = niceStep(top / 4)
            let high = (top / step).rounded(.up) * step
            let ticks = stride(from: 0.0, through: high + step / 2, by: step).map { $0 }
            return Scale(low: 0, high: high, isLog: false, ticks: ticks)
        }

        /// Logarithmic between the decades around the values, with 2 and 5 ticks when they span little.
        static func logarithmic(_ values: [Double]) -> Scale {
            let positive = values.filter { $0 > 0 && $0.isFinite }
            guard let top = positive.max(), let bottom = positive.min() else {
                return Scale(low: 0.1, high: 10, isLog: true, ticks: [0.1, 1, 10])
            }
            var lowExponent = floor(log10(bottom))
            // Room below the smallest value, so that its bar or point is not on the axis.
            if bottom < 2 * pow(10, lowExponent) { lowExponent -= 1 }
            var highExponent = ceil(log10(top))
            if highExponent <= lowExponent { highExponent = lowExponent + 1 }
            let low = pow(10, lowExponent)
            let high = pow(10, highExponent)
            var ticks: [Double] = []
            let decades = Int(highExponent - lowExponent)
            for exponent in Int(lowExponent)...Int(highExponent) {
                let decade = pow(10, Double(exponent))
                ticks.append(decade)
                if decades <= 2 && exponent < Int(highExponent) { ticks += [2 * decade, 5 * decade] }
            }
            return Scale(low: low, high: high, isLog: true, ticks: ticks.sorted())
        }

        /// A step of 1, 2 or 5 times a power of ten, at least `rough`.
        static func niceStep(_ rough: Double) -> Double {
            guard rough > 0 && rough.isFinite else { return 1 }
            let power = pow(10, floor(log10(rough)))
            for multiple in [1.0, 2, 2.5, 5, 10] where multiple * power >= rough * 0.999 { return multiple * power }
            return 10 * power
        }

        /// The y coordinate of `value`, or nil when a log scale cannot show it.
        func position(_ value: Double, _ plot: Plot) -> Double? {
            guard value.isFinite else { return nil }
            let fraction: Double
            if isLog {
                guard value > 0 else { return nil }
                fraction = (log10(value) - log10(low)) / (log10(high) - log10(low))
            } else {
                fraction = (value - low) / (high - low)
            }
            return plot.bottom - min(max(fraction, 0), 1.02) * (plot.bottom - plot.top)
        }
    }

    func frame(x: Double, y: Double) -> String {
        "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(Self.panelWidth))\" height=\"\(f(Self.panelHeight))\" "
            + "fill=\"#fbfbfb\" stroke=\"#d0d0d0\" stroke-width=\"1\" rx=\"4\"/>\n"
    }

    func yAxis(scale: Scale, plot: Plot, label: String, x: Double, format: (Double) -> String) -> String {
        var out = ""
        for tick in scale.ticks {
            guard let ty = scale.position(tick, plot) else { continue }
            out += line(x1: plot.left, y1: ty, x2: plot.right, y2: ty, color: Self.grid, width: 1)
            out += text(format(tick), x: plot.left - 6, y: ty + 4, size: 10, anchor: "end", fill: Self.muted)
        }
        out += line(x1: plot.left, y1: plot.top, x2: plot.left, y2: plot.bottom, color: Self.muted, width: 1)
        let middle = (plot.top + plot.bottom) / 2
        out += "<text x=\"\(f(x + 15))\" y=\"\(f(middle))\" font-size=\"11\" fill=\"\(Self.muted)\" text-anchor=\"middle\" "
        out += "transform=\"rotate(-90 \(f(x + 15)) \(f(middle)))\">\(xml(label))</text>\n"
        return out
    }

    func noData(_ plot: Plot) -> String {
        text(
            "not measured", x: (plot.left + plot.right) / 2, y: (plot.top + plot.bottom) / 2, size: 12, anchor: "middle",
            fill: Self.muted)
    }

    func text(
        _ content: String, x: Double, y: Double, size: Double, weight: String? = nil, anchor: String? = nil,
        fill: String? = nil
    ) -> String {
        var out = "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\""
        if let weight { out += " font-weight=\"\(weight)\"" }
        if let anchor { out += " text-anchor=\"\(anchor)\"" }
        if let fill { out += " fill=\"\(fill)\"" }
        return out + ">\(xml(content))</text>\n"
    }

    func line(
        x1: Double, y1: Double, x2: Double, y2: Double, color: String, width: Double, dashed: Bool = false
    ) -> String {
        "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(color)\" "
            + "stroke-width=\"\(f(width))\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
    }

    func xml(_ text: String) -> String { ReportTextEscaping.xml(text) }

    /// A coordinate with at most one decimal.
    func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
    }

    /// About how wide `text` is in a sans-serif face at `size`.
    static func textWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * size * 0.58
    }

    /// Words in lines no wider than `width`, at most `maxLines`, the last shortened with "…".
    static func wrap(_ text: String, width: Double, size: Double, maxLines: Int) -> [String] {
        let limit = max(3, Int(width / (size * 0.58)))
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            let candidate = current.isEmpty ? word : current + " " + word
            if candidate.count <= limit || current.isEmpty {
                current = candidate
            } else {
                lines.append(current)
                current = word
            }
        }
        if !current.isEmpty { lines.append(current) }
        if lines.count > maxLines {
            lines = Array(lines.prefix(maxLines - 1)) + [lines[(maxLines - 1)...].joined(separator: " ")]
        }
        return lines.map { $0.count <= limit ? $0 : String($0.prefix(limit - 1)) + "…" }
    }
}
