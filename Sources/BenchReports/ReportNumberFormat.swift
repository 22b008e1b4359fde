// Numbers as people read them in the report, the terminal and the chart:
// whole ops/s with thousands separators, milliseconds to three significant
// digits, ratios with a "×". Locale-independent, so files read the same
// wherever they were written.

import Foundation

enum ReportNumberFormat {
    /// A whole number with "," every three digits: 12345.6 → "12,346".
    static func whole(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "n/a" : (value > 0 ? "∞" : "-∞") }
        let rounded = value.rounded()
        guard abs(rounded) < 1e18 else { return String(format: "%.3g", value) }
        let integer = Int64(rounded)
        let digits = String(integer.magnitude)
        var grouped = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return (integer < 0 ? "-" : "") + grouped
    }

    /// Ops/s as a whole number with separators.
    static func opsPerSecond(_ value: Double) -> String { whole(value) }

    /// A median with its range, "12,345 (11,900–12,800)"; just the median when the range is a point.
    static func opsPerSecond(_ spread: PeerBenchSummary.Spread) -> String {
        let median = whole(spread.median)
        let low = whole(spread.min)
        let high = whole(spread.max)
        return low == high ? median : "\(median) (\(low)–\(high))"
    }

    /// Three significant digits, and no more than that before the point: 0.04567 → "0.0457",
    /// 1.234 → "1.23", 12.34 → "12.3", 1234.5 → "1,235".
    static func significant(_ value: Double, digits: Int = 3) -> String {
        guard value.isFinite else { return value.isNaN ? "n/a" : (value > 0 ? "∞" : "-∞") }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        // Round to `digits` significant digits first, so 9.996 becomes 10.0, not 10.00.
        let exponent = Int(floor(log10(magnitude)))
        let scale = pow(10, Double(digits - 1 - exponent))
        let rounded = (magnitude * scale).rounded() / scale
        let roundedExponent = Int(floor(log10(rounded)))
        let decimals = max(0, digits - 1 - roundedExponent)
        if decimals == 0 { return (value < 0 ? "-" : "") + whole(rounded) }
        return (value < 0 ? "-" : "") + String(format: "%.\(decimals)f", rounded)
    }

    /// Milliseconds to three significant digits, without the unit.
    static func milliseconds(_ value: Double?) -> String {
        value.map { significant($0) } ?? "—"
    }

    /// A ratio to three significant digits with "×": "2.31×".
    static func ratio(_ value: Double?) -> String {
        value.map { significant($0) + "×" } ?? "—"
    }

    /// A ratio precise enough that the text does not seem to reach `threshold`
    /// when the value does not (1.998 against 2 reads "1.998×", not "2.00×").
    static func ratio(_ value: Double, against threshold: Double) -> String {
        var digits = 3
        while digits < 8 {
            let text = significant(value, digits: digits)
            let shown = Double(text.replacingOccurrences(of: ",", with: "")) ?? value
            if (shown >= threshold) == (value >= threshold) && (shown <= threshold) == (value <= threshold) {
                return text + "×"
            }
            digits += 1
        }
        return significant(value, digits: digits) + "×"
    }

    /// A median ratio with the spread of per-repeat ratios: "2.31× (2.10–2.50)".
    static func ratio(_ value: Double?, paired: PeerBenchSummary.Spread?) -> String {
        guard let value else { return "—" }
        guard let paired, paired.count > 1 else { return ratio(value) }
        let low = significant(paired.min)
        let high = significant(paired.max)
        return low == high ? ratio(value) : "\(ratio(value)) (\(low)–\(high))"
    }

    /// A short axis label: 950, 1.5k, 12k, 1.2M.
    static func compact(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e9 { return trimmed(value / 1e9) + "G" }
        if magnitude >= 1e6 { return trimmed(value / 1e6) + "M" }
        if magnitude >= 1e3 { return trimmed(value / 1e3) + "k" }
        return trimmed(value)
    }

    /// Up to three significant digits without trailing zeros: 1.50 → "1.5", 20.0 → "20".
    static func trimmed(_ value: Double) -> String {
        var text = significant(value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Seconds as "45 s", "12 min 3 s" or "1 h 2 min".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "n/a" }
        if seconds < 10 { return trimmed(seconds) + " s" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total) s" }
        if total < 3600 { return "\(total / 60) min \(total % 60) s" }
        return "\(total / 3600) h \(total % 3600 / 60) min"
    }
}
