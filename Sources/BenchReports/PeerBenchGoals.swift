// The performance goals Tessera set itself against its peers, each judged
// from the summary as met, missed or not measured, with the figure behind
// the verdict, so that a miss is shown and never hidden.

/// One goal and how the run fared against it.
public struct PeerBenchGoal: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case met
        case missed
        case notMeasured = "not measured"
        /// Shown for information: there is no target.
        case informational = "info"
    }

    /// A stable name, such as "replicated-put-throughput".
    public var id: String
    /// What is promised, in words.
    public var text: String
    /// What was measured, for people ("2.31× (12,345 vs 5,345 ops/s)"), or why nothing was.
    public var measured: String
    /// The bar, for people ("≥ 2×").
    public var target: String
    /// The number judged: a ratio for throughput goals, milliseconds for latency goals.
    public var measuredValue: Double?
    /// The bar as a number, in the same unit as `measuredValue`.
    public var targetValue: Double?
    public var status: Status
    /// True for a figure shown for information, with no target: never met or missed,
    /// and not counted among the goals (its status is `.informational` or `.notMeasured`).
    public var isInformational: Bool
    /// What qualifies the figure: errors during the runs, per-repeat spread.
    public var notes: [String]

    public init(
        id: String, text: String, measured: String, target: String, measuredValue: Double?, targetValue: Double?,
        status: Status, isInformational: Bool = false, notes: [String]
    ) {
        self.id = id
        self.text = text
        self.measured = measured
        self.target = target
        self.measuredValue = measuredValue
        self.targetValue = targetValue
        self.status = status
        self.isInformational = isInformational
        self.notes = notes
    }
}

/// Evaluates the goals of `tessera-bench peers`.
public enum PeerBenchGoals {
    /// The client count the goals are stated at.
    public static let goalClients = 64

    /// Every goal, in a fixed order, whether or not it could be measured.
    public static func evaluate(_ summary: PeerBenchSummary) -> [PeerBenchGoal] {
        let clients = goalClients
        let getClients = largestCommonClients(
            summary, section: "replicated", operation: "linearizable get", systems: ["tessera-3", "etcd-3"],
            preferring: clients)
        let getWhere =
            getClients == clients || getClients == nil
            ? "at \(clients) clients" : "at \(getClients!) clients (largest measured; \(clients) not measured)"
        return [
            throughput(
                summary, id: "replicated-put-throughput",
                text: "Replicated put at \(clients) clients: tessera-3 median ops/s ≥ 2 × etcd-3",
                section: "replicated", operation: "put", tessera: "tessera-3", peer: "etcd-3", clients: clients,
                factor: 2),
            p99(
                summary, id: "replicated-put-p99",
                text: "Replicated put at \(clients) clients: tessera-3 median p99 ≤ etcd-3 median p99",
                section: "replicated", operation: "put", tessera: "tessera-3", peer: "etcd-3", clients: clients),
            throughput(
                summary, id: "replicated-linearizable-get-throughput",
                text: "Replicated linearizable get \(getWhere): tessera-3 median ops/s ≥ 2 × etcd-3",
                section: "replicated", operation: "linearizable get", tessera: "tessera-3", peer: "etcd-3",
                clients: getClients ?? clients, factor: 2),
            throughput(
                summary, id: "single-put-vs-sqlite",
                text: "Single-node put at \(clients) clients: tessera-1 median ops/s ≥ 3 × sqlite",
                section: "single", operation: "put", tessera: "tessera-1", peer: "sqlite", clients: clients, factor: 3),
            throughput(
                summary, id: "single-put-vs-redis",
                text: "Single-node put at \(clients) clients: tessera-1 median ops/s ≥ redis",
                section: "single", operation: "put", tessera: "tessera-1", peer: "redis", clients: clients, factor: 1),
            throughput(
                summary, id: "single-embedded-put-vs-sqlite",
                text: "Single-node put at \(clients) clients, both in-process: tessera-embedded vs sqlite (information)",
                section: "single", operation: "put", tessera: "tessera-embedded", peer: "sqlite", clients: clients,
                factor: nil),
            singleClientLatency(summary),
            tlsAgainstPlaintext(summary, operation: "put", clients: clients),
            tlsAgainstPlaintext(summary, operation: "linearizable get", clients: clients),
        ]
    }

    /// Tessera's ratio against etcd over TLS, divided by the same ratio in plaintext:
    /// at least 1 when TLS costs Tessera no more than it costs etcd.
    static func tlsAgainstPlaintext(_ summary: PeerBenchSummary, operation: String, clients: Int) -> PeerBenchGoal {
        let id = "tls-\(operation.replacingOccurrences(of: " ", with: "-"))-ratio"
        let text = "Replicated \(operation) at \(clients) clients over TLS: tessera-3-tls/etcd-3-tls ≥ tessera-3/etcd-3 (plaintext)"
        let target = "≥ 1× the plaintext ratio"
        let tls = throughputVerdict(summary, id: id, text: text, section: "tls", operation: operation, tessera: "tessera-3-tls",
                                    peer: "etcd-3-tls", clients: clients, factor: nil)
        let plaintext = throughputVerdict(summary, id: id, text: text, section: "replicated", operation: operation,
                                          tessera: "tessera-3", peer: "etcd-3", clients: clients, factor: nil)
        guard let over = tls.measuredValue, let plain = plaintext.measuredValue, plain > 0 else {
            let why = [tls, plaintext].first { $0.measuredValue == nil }?.measured ?? "not measured"
            return PeerBenchGoal(id: id, text: text, measured: why, target: target, measuredValue: nil, targetValue: 1,
                                 status: .notMeasured, notes: tls.notes + plaintext.notes)
        }
        let quotient = over / plain
        let measured = "\(ReportNumberFormat.ratio(quotient)) (TLS \(ReportNumberFormat.ratio(over)), plaintext \(ReportNumberFormat.ratio(plain)))"
        return PeerBenchGoal(id: id, text: text, measured: measured, target: target, measuredValue: quotient, targetValue: 1,
                             status: quotient >= 1 ? .met : .missed,
                             notes: tls.notes.map { "TLS: \($0)" } + plaintext.notes.map { "plaintext: \($0)" })
    }

    // MARK: Goal kinds

    /// Tessera's median ops/s over the peer's against `factor` (nil: information only).
    static func throughput(
        _ summary: PeerBenchSummary, id: String, text: String, section: String, operation: String, tessera: String,
        peer: String, clients: Int, factor: Double?
    ) -> PeerBenchGoal {
        var goal = throughputVerdict(
            summary, id: id, text: text, section: section, operation: operation, tessera: tessera, peer: peer,
            clients: clients, factor: factor)
        goal.isInformational = factor == nil
        return goal
    }

    static func throughputVerdict(
        _ summary: PeerBenchSummary, id: String, text: String, section: String, operation: String, tessera: String,
        peer: String, clients: Int, factor: Double?
    ) -> PeerBenchGoal {
        let target = factor.map { "≥ \(ReportNumberFormat.trimmed($0))× \(peer)" } ?? "— (information)"
        let t = summary.figures(section: section, operation: operation, system: tessera, clients: clients)
        let p = summary.figures(section: section, operation: operation, system: peer, clients: clients)
        guard let t, let p else {
            return notMeasured(
                id: id, text: text, target: target, targetValue: factor,
                missing: [(tessera, t), (peer, p)].filter { $0.1 == nil }.map(\.0), clients: clients)
        }
        var notes = errorNotes([t, p])
        guard let ratio = PeerBenchSummary.ratio(t.opsPerSecond.median, p.opsPerSecond.median) else {
            notes.insert("\(peer) completed no operations, so there is no ratio", at: 0)
            return PeerBenchGoal(
                id: id, text: text, measured: "not measured: \(peer) 0 ops/s", target: target, measuredValue: nil,
                targetValue: factor, status: .notMeasured, notes: notes)
        }
        let paired = summary.comparison(
            section: section, operation: operation, tessera: tessera, peer: peer, clients: clients
        ).pairedThroughputRatios
        if let paired, paired.count > 1 {
            notes.append(
                "per-repeat ratios \(ReportNumberFormat.significant(paired.min))–"
                    + "\(ReportNumberFormat.significant(paired.max))× over \(paired.count) repeats")
        }
        let ratioText = factor.map { ReportNumberFormat.ratio(ratio, against: $0) } ?? ReportNumberFormat.ratio(ratio)
        let measured =
            "\(ratioText) (\(ReportNumberFormat.whole(t.opsPerSecond.median)) vs "
            + "\(ReportNumberFormat.whole(p.opsPerSecond.median)) ops/s)"
        let status: PeerBenchGoal.Status = factor.map { ratio >= $0 ? .met : .missed } ?? .informational
        return PeerBenchGoal(
            id: id, text: text, measured: measured, target: target, measuredValue: ratio, targetValue: factor,
            status: status, notes: notes)
    }

    /// Tessera's median p99 against the peer's.
    static func p99(
        _ summary: PeerBenchSummary, id: String, text: String, section: String, operation: String, tessera: String,
        peer: String, clients: Int
    ) -> PeerBenchGoal {
        let t = summary.figures(section: section, operation: operation, system: tessera, clients: clients)
        let p = summary.figures(section: section, operation: operation, system: peer, clients: clients)
        let peerP99 = p?.p99Milliseconds?.median
        let target = peerP99.map { "≤ \(ReportNumberFormat.milliseconds($0)) ms (\(peer)'s p99)" } ?? "≤ \(peer)'s p99"
        guard let t, let p else {
            return notMeasured(
                id: id, text: text, target: target, targetValue: peerP99,
                missing: [(tessera, t), (peer, p)].filter { $0.1 == nil }.map(\.0), clients: clients)
        }
        let notes = errorNotes([t, p])
        guard let tesseraP99 = t.p99Milliseconds?.median, let peerP99 else {
            let empty = [t, p].filter { $0.p99Milliseconds == nil }.map(\.system).joined(separator: " and ")
            return PeerBenchGoal(
                id: id, text: text, measured: "not measured: \(empty) completed no operations", target: target,
                measuredValue: t.p99Milliseconds?.median, targetValue: peerP99, status: .notMeasured, notes: notes)
        }
        let ratio = PeerBenchSummary.ratio(tesseraP99, peerP99)
        let measured =
            "\(ReportNumberFormat.milliseconds(tesseraP99)) ms vs \(ReportNumberFormat.milliseconds(peerP99)) ms"
            + (ratio.map { " (\(ReportNumberFormat.ratio($0)))" } ?? "")
        return PeerBenchGoal(
            id: id, text: text, measured: measured, target: target, measuredValue: tesseraP99, targetValue: peerP99,
            status: tesseraP99 <= peerP99 ? .met : .missed, notes: notes)
    }

    /// One client's replicated put p50 against 1.5 × (fsync p50 + loopback p50).
    static func singleClientLatency(_ summary: PeerBenchSummary) -> PeerBenchGoal {
        let id = "replicated-put-single-client-p50"
        let text = "Replicated put at 1 client: tessera-3 median p50 ≤ 1.5 × (median fsync p50 + median loopback p50)"
        let fsync = summary.physical.fsyncP50Milliseconds?.median
        let loopback = summary.physical.loopbackP50Milliseconds?.median
        let bound = fsync.flatMap { f in loopback.map { l in 1.5 * (f + l) } }
        let target =
            bound.map {
                "≤ \(ReportNumberFormat.milliseconds($0)) ms = 1.5 × (\(ReportNumberFormat.milliseconds(fsync!)) + "
                    + "\(ReportNumberFormat.milliseconds(loopback!)) ms)"
            } ?? "≤ 1.5 × (fsync p50 + loopback p50)"
        let t = summary.figures(section: "replicated", operation: "put", system: "tessera-3", clients: 1)
        guard let t else {
            return notMeasured(
                id: id, text: text, target: target, targetValue: bound, missing: ["tessera-3"], clients: 1)
        }
        let notes = errorNotes([t])
        guard let p50 = t.p50Milliseconds?.median else {
            return PeerBenchGoal(
                id: id, text: text, measured: "not measured: tessera-3 completed no operations", target: target,
                measuredValue: nil, targetValue: bound, status: .notMeasured, notes: notes)
        }
        guard let bound else {
            return PeerBenchGoal(
                id: id, text: text,
                measured: "\(ReportNumberFormat.milliseconds(p50)) ms; physical limits not measured", target: target,
                measuredValue: p50, targetValue: nil, status: .notMeasured, notes: notes)
        }
        return PeerBenchGoal(
            id: id, text: text,
            measured: "\(ReportNumberFormat.milliseconds(p50)) ms (\(ReportNumberFormat.significant(p50 / bound))× the bound)",
            target: target, measuredValue: p50, targetValue: bound, status: p50 <= bound ? .met : .missed,
            notes: notes)
    }

    // MARK: Helpers

    static func notMeasured(
        id: String, text: String, target: String, targetValue: Double?, missing: [String], clients: Int
    ) -> PeerBenchGoal {
        PeerBenchGoal(
            id: id, text: text,
            measured: "not measured: no \(missing.joined(separator: " or ")) runs at \(clients) client\(clients == 1 ? "" : "s")",
            target: target, measuredValue: nil, targetValue: targetValue, status: .notMeasured, notes: [])
    }

    /// "tessera-3: 12 errors over 3 runs (first: …)" for each system that had errors.
    static func errorNotes(_ figures: [PeerBenchSummary.SystemFigures]) -> [String] {
        figures.filter { $0.errors > 0 }.map { figure in
            var note = "\(figure.system): \(ReportNumberFormat.whole(Double(figure.errors))) error"
                + "\(figure.errors == 1 ? "" : "s") over \(figure.runs) run\(figure.runs == 1 ? "" : "s")"
            if let first = figure.firstError { note += " (first: \(shortened(first, to: 160)))" }
            return note
        }
    }

    static func shortened(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// `preferring` when every system measured it, else the largest count they all measured.
    static func largestCommonClients(
        _ summary: PeerBenchSummary, section: String, operation: String, systems: [String], preferring: Int
    ) -> Int? {
        var common: Set<Int>?
        for system in systems {
            let measured = Set(
                summary.figures.filter { $0.section == section && $0.operation == operation && $0.system == system }
                    .map(\.clients))
            common = common.map { $0.intersection(measured) } ?? measured
        }
        guard let common else { return nil }
        return common.contains(preferring) ? preferring : common.max()
    }
}
