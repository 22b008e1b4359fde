import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The operation a run repeats.
public enum LoadOperation: Codable, Sendable, Hashable {
    case put
    case get(ReadConsistency)

    public var label: String {
        switch self {
        case .put: "put"
        case .get(.linearizable): "linearizable get"
        case .get(.eventual): "eventual get"
        }
    }
}

/// What one run of one system at one concurrency measured.
public struct LoadRunResult: Codable, Sendable {
    public var operations: Int
    public var errors: Int
    public var seconds: Double
    public var opsPerSecond: Double
    public var p50Milliseconds: Double?
    public var p99Milliseconds: Double?
    public var p999Milliseconds: Double?
    /// For gets: the share that found a value.
    public var foundFraction: Double?
    public var firstError: String?

    public init(
        operations: Int, errors: Int, seconds: Double, latencies: [UInt64], found: Int?, firstError: String?
    ) {
        self.operations = operations
        self.errors = errors
        self.seconds = seconds
        opsPerSecond = seconds > 0 ? Double(operations) / seconds : 0
        let sorted = latencies.sorted()
        p50Milliseconds = Self.percentile(sorted, 0.50)
        p99Milliseconds = Self.percentile(sorted, 0.99)
        p999Milliseconds = Self.percentile(sorted, 0.999)
        foundFraction = found.flatMap { operations > 0 ? Double($0) / Double(operations) : nil }
        self.firstError = firstError
    }

    /// Nearest-rank percentile of sorted nanosecond latencies, in milliseconds.
    public static func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((Double(sorted.count) * fraction).rounded(.up))
        return Double(sorted[min(max(rank, 1), sorted.count) - 1]) / 1e6
    }
}

/// The load loop: `clients` sessions, each with one request in flight, on
/// uniformly random keys, for a warm-up that is not recorded and then for the
/// measured time. Errors are counted and the run goes on.
public struct LoadRun: Sendable {
    public var operation: LoadOperation
    public var clients: Int
    public var keys: Int
    public var value: [UInt8]
    public var warmUpSeconds: Double
    public var seconds: Double

    public init(operation: LoadOperation, clients: Int, keys: Int, value: [UInt8], warmUpSeconds: Double, seconds: Double) {
        self.operation = operation
        self.clients = clients
        self.keys = keys
        self.value = value
        self.warmUpSeconds = warmUpSeconds
        self.seconds = seconds
    }

    private struct SessionTally: Sendable {
        var latencies: [UInt64] = []
        var errors = 0
        var found = 0
        var firstError: String?
    }

    public func run(on system: any LoadSystem) async throws -> LoadRunResult {
        var sessions: [any LoadSession] = []
        do {
            for index in 0..<clients { sessions.append(try await system.makeSession(index: index, of: clients)) }
        } catch {
            for session in sessions { await session.close() }
            await system.endRun()
            throw LoadFailure("\(system.name): opening client \(sessions.count + 1) of \(clients): \(error)")
        }
        let start = monotonicNanoseconds()
        let measureFrom = start + UInt64(warmUpSeconds * 1e9)
        let end = measureFrom + UInt64(seconds * 1e9)
        let operation = operation
        let keys = keys
        let value = value
        let tallies = await withTaskGroup(of: SessionTally.self) { group in
            for (index, session) in sessions.enumerated() {
                group.addTask {
                    var tally = SessionTally()
                    tally.latencies.reserveCapacity(8192)
                    var random = SplitMix(seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ start)
                    while true {
                        let began = monotonicNanoseconds()
                        if began >= end { break }
                        let key = Int(random.next() % UInt64(keys))
                        do {
                            var found = false
                            switch operation {
                            case .put: try await session.put(key: key, value: value)
                            case .get(let consistency): found = try await session.get(key: key, consistency: consistency)
                            }
                            let finished = monotonicNanoseconds()
                            // Counted when it began inside the measured time and ended by its end.
                            if began >= measureFrom && finished <= end {
                                tally.latencies.append(finished - began)
                                if found { tally.found += 1 }
                            }
                        } catch {
                            if began >= measureFrom {
                                tally.errors += 1
                                if tally.firstError == nil { tally.firstError = "\(error)" }
                            }
                        }
                    }
                    return tally
                }
            }
            var all: [SessionTally] = []
            for await tally in group { all.append(tally) }
            return all
        }
        for session in sessions { await session.close() }
        await system.endRun()
        let latencies = tallies.flatMap(\.latencies)
        let isGet = if case .get = operation { true } else { false }
        return LoadRunResult(
            operations: latencies.count, errors: tallies.reduce(0) { $0 + $1.errors }, seconds: seconds,
            latencies: latencies, found: isGet ? tallies.reduce(0) { $0 + $1.found } : nil,
            firstError: tallies.lazy.compactMap(\.firstError).first)
    }

    /// Puts every key once, from `clients` sessions, so that reads find values.
    /// Returns how many puts failed.
    public static func preload(
        _ system: any LoadSystem, keys: Int, value: [UInt8], clients: Int
    ) async throws -> Int {
        var sessions: [any LoadSession] = []
        for index in 0..<clients { sessions.append(try await system.makeSession(index: index, of: clients)) }
        let failures = await withTaskGroup(of: Int.self) { group in
            for (index, session) in sessions.enumerated() {
                group.addTask {
                    var failed = 0
                    for key in stride(from: index, to: keys, by: clients) {
                        do { try await session.put(key: key, value: value) } catch { failed += 1 }
                    }
                    return failed
                }
            }
            return await group.reduce(0, +)
        }
        for session in sessions { await session.close() }
        await system.endRun()
        return failures
    }
}

/// CLOCK_MONOTONIC in nanoseconds (about 20 ns a call, cheap enough per operation).
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// A small, fast generator for key choice (the system generator costs a syscall-ish read).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
