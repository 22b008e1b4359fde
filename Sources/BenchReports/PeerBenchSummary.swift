// The figures a reader compares, derived from the raw per-repeat records:
// min, median and max over repeats for every system at every concurrency,
// Tessera/peer ratios for every comparison, and the physical limits.

/// Summary statistics of one `tessera-bench peers` run.
public struct PeerBenchSummary: Sendable {
    /// Minimum, median and maximum of some values (the median of an even
    /// count is the mean of the middle two).
    public struct Spread: Codable, Sendable, Equatable {
        public var min: Double
        public var median: Double
        public var max: Double
        /// How many values it summarises.
        public var count: Int

        public init(min: Double, median: Double, max: Double, count: Int) {
            self.min = min
            self.median = median
            self.max = max
            self.count = count
        }

        /// The spread of `values`, or nil when there are none. Non-finite values are ignored.
        public static func of(_ values: [Double]) -> Spread? {
            let sorted = values.filter(\.isFinite).sorted()
            guard let first = sorted.first, let last = sorted.last else { return nil }
            let middle = sorted.count / 2
            let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
            return Spread(min: first, median: median, max: last, count: sorted.count)
        }
    }

    /// One system at one concurrency for one operation, over its repeats.
    public struct SystemFigures: Sendable {
        public var section: String
        public var operation: String
        public var system: String
        public var clients: Int
        /// How many runs (repeats) were recorded.
        public var runs: Int
        public var opsPerSecond: Spread
        /// Over the repeats that completed at least one operation.
        public var p50Milliseconds: Spread?
        public var p99Milliseconds: Spread?
        /// For gets: the share that found a value.
        public var foundFraction: Spread?
        /// Errors over all repeats.
        public var errors: Int
        /// Successful operations over all repeats.
        public var operations: Int
        /// The first error any repeat saw, in repeat order.
        public var firstError: String?
    }

    /// A Tessera system against its peer, for one operation at one concurrency.
    public struct ComparisonFigures: Sendable {
        public var section: String
        public var operation: String
        public var tessera: String
        public var peer: String
        public var clients: Int
        public var tesseraFigures: SystemFigures?
        public var peerFigures: SystemFigures?
        /// Tessera's median ops/s divided by the peer's: above 1, Tessera is faster.
        public var throughputRatio: Double?
        /// Spread of Tessera/peer ops/s over repeats paired by repeat index.
        public var pairedThroughputRatios: Spread?
        /// Tessera's median p50 latency divided by the peer's: below 1, Tessera answers sooner.
        public var p50LatencyRatio: Double?
        /// Tessera's median p99 latency divided by the peer's: below 1, Tessera answers sooner.
        public var p99LatencyRatio: Double?

        /// True when both systems were measured.
        public var isMeasured: Bool { tesseraFigures != nil && peerFigures != nil }
    }

    /// The machine's physical limits over repeats.
    public struct PhysicalFigures: Sendable {
        public var samples: Int
        public var fsyncP50Milliseconds: Spread?
        public var fsyncP99Milliseconds: Spread?
        public var loopbackP50Milliseconds: Spread?
        public var loopbackP99Milliseconds: Spread?
        public var directWriteMegabytesPerSecond: Spread?
        /// The distinct tools that measured direct writes, in sample order.
        public var directWriteTools: [String]
    }

    /// Identifies one `SystemFigures`.
    public struct Key: Hashable, Sendable {
        public var section: String
        public var operation: String
        public var system: String
        public var clients: Int

        public init(section: String, operation: String, system: String, clients: Int) {
            self.section = section
            self.operation = operation
            self.system = system
            self.clients = clients
        }
    }

    /// Every system's figures, in report order (section, operation, system, clients).
    public private(set) var figures: [SystemFigures]
    /// Every comparison's figures, in the results' comparison order, then
    /// operation and clients order.
    public private(set) var comparisons: [ComparisonFigures]
    public private(set) var physical: PhysicalFigures
    /// Sections in report order: "single", "replicated", then any other in order of appearance.
    public private(set) var sections: [String]

    private var index: [Key: Int]
    /// Ops/s by repeat index (the first record of an index that was recorded twice).
    private var ratesByRepeat: [Key: [Int: Double]]

    public init(_ results: PeerBenchResults) {
        // Order: systems as the results list them, then any only runs name.
        var systemOrder = results.systems.map(\.id)
        for run in results.runs where !systemOrder.contains(run.system) { systemOrder.append(run.system) }

        var groups: [Key: [PeerBenchResults.RunRecord]] = [:]
        var keys: [Key] = []
        for run in results.runs {
            let key = Key(section: run.section, operation: run.operation, system: run.system, clients: run.clients)
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(run)
        }
        sections = Self.ordered(keys.map(\.section), first: Self.knownSections)
        let sectionRank = Self.ranks(sections)
        let operationRank = Self.ranks(Self.ordered(keys.map(\.operation), first: Self.knownOperations))
        let systemRank = Self.ranks(systemOrder)
        keys.sort {
            (sectionRank[$0.section]!, operationRank[$0.operation]!, systemRank[$0.system]!, $0.clients)
                < (sectionRank[$1.section]!, operationRank[$1.operation]!, systemRank[$1.system]!, $1.clients)
        }
        figures = keys.map { Self.figures(for: $0, runs: groups[$0]!) }
        index = Dictionary(uniqueKeysWithValues: figures.enumerated().map {
            (Key(section: $1.section, operation: $1.operation, system: $1.system, clients: $1.clients), $0)
        })
        physical = Self.physicalFigures(results.physical)
        var ratesByRepeat: [Key: [Int: Double]] = [:]
        for (key, runs) in groups {
            var rates: [Int: Double] = [:]
            for run in runs where rates[run.repeatIndex] == nil { rates[run.repeatIndex] = run.result.opsPerSecond }
            ratesByRepeat[key] = rates
        }
        self.ratesByRepeat = ratesByRepeat
        comparisons = []
        for comparison in results.comparisons {
            for operation in comparison.operations {
                let clients = Set(
                    figures.filter {
                        $0.section == comparison.section && $0.operation == operation
                            && ($0.system == comparison.tessera || $0.system == comparison.peer)
                    }.map(\.clients)
                ).sorted()
                for count in clients {
                    comparisons.append(
                        self.comparison(
                            section: comparison.section, operation: operation, tessera: comparison.tessera,
                            peer: comparison.peer, clients: count))
                }
            }
        }
    }

    // MARK: Look-ups

    public func figures(section: String, operation: String, system: String, clients: Int) -> SystemFigures? {
        index[Key(section: section, operation: operation, system: system, clients: clients)].map { figures[$0] }
    }

    /// Operations measured in `section`, in report order.
    public func operations(in section: String) -> [String] {
        Self.unique(figures.filter { $0.section == section }.map(\.operation))
    }

    /// Systems measured in `section` for `operation`, in the results' system order.
    public func systems(in section: String, operation: String) -> [String] {
        Self.unique(figures.filter { $0.section == section && $0.operation == operation }.map(\.system))
    }

    /// Client counts measured in `section` for `operation`, ascending.
    public func clients(in section: String, operation: String) -> [Int] {
        Set(figures.filter { $0.section == section && $0.operation == operation }.map(\.clients)).sorted()
    }

    /// Any Tessera system against any peer (listed as a comparison or not), at one concurrency.
    public func comparison(
        section: String, operation: String, tessera: String, peer: String, clients: Int
    ) -> ComparisonFigures {
        let tesseraKey = Key(section: section, operation: operation, system: tessera, clients: clients)
        let peerKey = Key(section: section, operation: operation, system: peer, clients: clients)
        let t = index[tesseraKey].map { figures[$0] }
        let p = index[peerKey].map { figures[$0] }
        let peerRates = ratesByRepeat[peerKey] ?? [:]
        let paired = (ratesByRepeat[tesseraKey] ?? [:]).compactMap { repeatIndex, rate in
            Self.ratio(rate, peerRates[repeatIndex])
        }
        return ComparisonFigures(
            section: section, operation: operation, tessera: tessera, peer: peer, clients: clients,
            tesseraFigures: t, peerFigures: p,
            throughputRatio: Self.ratio(t?.opsPerSecond.median, p?.opsPerSecond.median),
            pairedThroughputRatios: Spread.of(paired),
            p50LatencyRatio: Self.ratio(t?.p50Milliseconds?.median, p?.p50Milliseconds?.median),
            p99LatencyRatio: Self.ratio(t?.p99Milliseconds?.median, p?.p99Milliseconds?.median))
    }

    /// Comparisons for `operation` in `section`.
    public func comparisons(in section: String, operation: String) -> [ComparisonFigures] {
        comparisons.filter { $0.section == section && $0.operation == operation }
    }

    /// A section's heading: "single" → "Single node, durable".
    public static func title(ofSection section: String) -> String {
        switch section {
        case "single": "Single node, durable"
        case "replicated": "Replicated: 3 nodes on this machine, durable"
        case "tls": "Replicated over TLS: 3 nodes, every link TLS 1.3 with certificates both ways"
        default: section
        }
    }

    // MARK: Building

    static let knownSections = ["single", "replicated"]
    static let knownOperations = ["put", "linearizable get", "eventual get"]

    static func figures(for key: Key, runs: [PeerBenchResults.RunRecord]) -> SystemFigures {
        let runs = runs.sorted { $0.repeatIndex < $1.repeatIndex }
        let results = runs.map(\.result)
        return SystemFigures(
            section: key.section, operation: key.operation, system: key.system, clients: key.clients,
            runs: runs.count,
            opsPerSecond: Spread.of(results.map(\.opsPerSecond)) ?? Spread(min: 0, median: 0, max: 0, count: 0),
            p50Milliseconds: Spread.of(results.compactMap(\.p50Milliseconds)),
            p99Milliseconds: Spread.of(results.compactMap(\.p99Milliseconds)),
            foundFraction: Spread.of(results.compactMap(\.foundFraction)),
            errors: results.reduce(0) { $0 + $1.errors },
            operations: results.reduce(0) { $0 + $1.operations },
            firstError: results.lazy.compactMap(\.firstError).first)
    }

    /// `numerator / denominator`, or nil when either is missing or the denominator is not positive.
    static func ratio(_ numerator: Double?, _ denominator: Double?) -> Double? {
        guard let numerator, let denominator, denominator > 0, numerator.isFinite, denominator.isFinite else {
            return nil
        }
        return numerator / denominator
    }

    static func physicalFigures(_ samples: [PeerBenchResults.PhysicalSample]) -> PhysicalFigures {
        PhysicalFigures(
            samples: samples.count,
            fsyncP50Milliseconds: Spread.of(samples.map(\.fsyncP50Milliseconds)),
            fsyncP99Milliseconds: Spread.of(samples.map(\.fsyncP99Milliseconds)),
            loopbackP50Milliseconds: Spread.of(samples.map(\.loopbackP50Milliseconds)),
            loopbackP99Milliseconds: Spread.of(samples.map(\.loopbackP99Milliseconds)),
            directWriteMegabytesPerSecond: Spread.of(samples.compactMap(\.directWriteMegabytesPerSecond)),
            directWriteTools: unique(samples.compactMap(\.directWriteTool)))
    }

    /// `values` without repeats, in order of first appearance, with the `first` ones (when present) leading.
    static func ordered(_ values: [String], first: [String]) -> [String] {
        let present = Set(values)
        return unique(first.filter { present.contains($0) } + values)
    }

    static func unique<T: Hashable>(_ values: [T]) -> [T] {
        var seen = Set<T>()
        return values.filter { seen.insert($0).inserted }
    }

    static func ranks(_ values: [String]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0) })
    }
}
