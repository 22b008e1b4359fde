/// What each node said during one call, for the message of a final error:
/// "node-1 (connection refused), node-2 (3× no leader, no answer within 3 s)".
struct AttemptLog: Sendable {
    private struct Entry: Sendable {
        var target: String
        /// Distinct reasons in first-seen order, with how often each came.
        var reasons: [(text: String, count: Int)]
        /// Failures beyond ``AttemptLog/reasonsMaximum`` distinct reasons.
        var others = 0
    }

    /// Distinct reasons listed per target; more are only counted.
    static let reasonsMaximum = 3

    private var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }

    /// Notes one failed attempt; targets and reasons are listed in first-seen order.
    mutating func record(_ target: String, _ reason: String) {
        guard let index = entries.firstIndex(where: { $0.target == target }) else {
            entries.append(Entry(target: target, reasons: [(reason, 1)]))
            return
        }
        if let known = entries[index].reasons.firstIndex(where: { $0.text == reason }) {
            entries[index].reasons[known].count += 1
        } else if entries[index].reasons.count < Self.reasonsMaximum {
            entries[index].reasons.append((reason, 1))
        } else {
            entries[index].others += 1
        }
    }

    var summary: String {
        entries.map { entry in
            var reasons = entry.reasons.map { $0.count == 1 ? $0.text : "\($0.count)× \($0.text)" }
            if entry.others > 0 { reasons.append("\(entry.others) other failure\(entry.others == 1 ? "" : "s")") }
            return "\(entry.target) (\(reasons.joined(separator: ", ")))"
        }.joined(separator: ", ")
    }
}

/// The least time worth starting another attempt with: a retry squeezed into
/// the last instant of a deadline cannot be answered, and for a write it would
/// only turn "not applied" into "outcome unknown". The first attempt always runs.
func minimumAttemptTime(_ options: ClientOptions) -> Duration {
    min(options.attemptTimeout, options.deadline / 10, .milliseconds(50))
}

extension Duration {
    /// "10 s", "1.5 s", "500 ms".
    var readable: String {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        if milliseconds < 1_000 { return "\(milliseconds) ms" }
        let tenths = milliseconds / 100
        return tenths % 10 == 0 ? "\(tenths / 10) s" : "\(tenths / 10).\(tenths % 10) s"
    }

    /// Whole nanoseconds, saturating.
    var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (seconds < 0 ? .min : .max) : total
    }
}

/// At most `maximum` characters of a key or message, for error texts.
func abbreviated(_ text: String, maximum: Int = 120) -> String {
    text.count <= maximum ? text : String(text.prefix(maximum)) + "…"
}
