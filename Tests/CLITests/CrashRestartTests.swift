import Foundation
import Keyspace
import Storage
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real crash test: `CrashWriter` writes with many concurrent tasks and is
/// SIGKILLed at a random moment, over and over on the same data directory. After
/// each kill the store is opened here and every acknowledged write must be there.
///
/// Reproduce a run with `TESSERA_CRASH_SEED=<seed> swift test --filter CrashRestartTests`
/// (the seed is printed; the kill moments follow from it, the interleavings do not).
@Suite(.serialized) struct CrashRestartTests {
    static let cyclesMinimum = 20
    static let cyclesMaximum = 40
    /// After `cyclesMinimum` cycles, more start only while the test is within this budget.
    static let budget = Duration.seconds(25)
    static let killDelayMilliseconds = 50...400

    @Test(.timeLimit(.minutes(2))) func acknowledgedWritesSurviveSIGKILL() async throws {
        let writerExecutable = try BuiltExecutable.url("CrashWriter")
        let folder = try TemporaryFolder("crash")
        defer { folder.remove() }
        let dataDirectory = folder.path + "/data"
        let seed = ProcessInfo.processInfo.environment["TESSERA_CRASH_SEED"].flatMap { UInt64($0) } ?? 20_251_122
        var random = SplitMix64(seed: seed)
        var history = AcknowledgedHistory()
        var floor: UInt64 = 0
        var statistics = CrashStatistics()
        let start = ContinuousClock.now

        var cycle = 0
        var failed = false
        while !failed && cycle < Self.cyclesMinimum || (cycle < Self.cyclesMaximum && ContinuousClock.now - start < Self.budget) {
            let writers = random.int(4...16)
            let delay = random.int(Self.killDelayMilliseconds)
            let context = "seed \(seed), cycle \(cycle) (\(writers) writers, SIGKILL after \(delay) ms)"
            let acknowledged = try await runUntilKilled(
                writerExecutable, dataDirectory, writers: writers, milliseconds: delay,
                logs: folder.url.appendingPathComponent("cycle-\(cycle)"), context: context)
            var problems: [String] = []
            for ack in acknowledged where ack.version <= floor {
                problems.append("\(ack.key) acknowledged version \(ack.version), not above \(floor), the highest version present before this run")
            }
            history.record(acknowledged, problems: &problems)
            do {
                floor = try await verify(dataDirectory, history, problems: &problems, statistics: &statistics)
            } catch {
                problems.append("the store does not open or read after the kill: \(error)")
            }
            statistics.cycles += 1
            statistics.acknowledged += acknowledged.count
            if acknowledged.isEmpty { statistics.cyclesWithoutAcks += 1 }
            cycle += 1
            if !problems.isEmpty {
                // Later cycles would only repeat these: report the first few and stop.
                for problem in problems.prefix(20) { Issue.record("\(context): \(problem)") }
                if problems.count > 20 { Issue.record("\(context): and \(problems.count - 20) more problems like these") }
                failed = true
            }
        }
        let seconds = (ContinuousClock.now - start).components.seconds
        print(
            "crash test: seed \(seed), \(statistics.cycles) SIGKILL cycles in \(seconds) s, \(statistics.acknowledged) writes acknowledged "
                + "(\(history.shared.count) shared CAS), \(statistics.cyclesWithoutAcks) cycles killed before any ack, "
                + "\(statistics.durableButUnacknowledged) own items present without an ack (durable, killed before the ack)")
        #expect(failed || statistics.cycles >= Self.cyclesMinimum)
        #expect(statistics.acknowledged > 0, "no write was ever acknowledged before the kill: nothing was tested")
    }

    /// Starts the writer, SIGKILLs it after `milliseconds`, and returns the writes it acknowledged.
    private func runUntilKilled(
        _ executable: URL, _ dataDirectory: String, writers: Int, milliseconds: Int, logs: URL, context: String
    ) async throws -> [Ack] {
        let outputURL = logs.appendingPathExtension("out")
        let errorURL = logs.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        let errors = try FileHandle(forWritingTo: errorURL)
        let process = Process()
        process.executableURL = executable
        // It stops by itself after 20 s, should this test die before killing it.
        process.arguments = [dataDirectory, String(writers), "20"]
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        try await Task.sleep(for: .milliseconds(milliseconds))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try output.close()
        try errors.close()
        let errorText = String(decoding: try Data(contentsOf: errorURL), as: UTF8.self)
        #expect(
            process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL,
            "\(context): the writer stopped before the kill (status \(process.terminationStatus)): \(errorText)")

        // Only whole lines: the kill may land in the middle of nothing else, since each line is one write(2).
        let text = String(decoding: try Data(contentsOf: outputURL), as: UTF8.self)
        var acks: [Ack] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("ack ") {
            acks.append(try #require(Ack(line), "\(context): malformed line \(line.prefix(200))"))
        }
        return acks
    }

    /// Opens the store in this process and checks it against every write acknowledged so far.
    /// Returns the highest version present. The store is closed and released on return, so
    /// that the next writer can take the directory's lock.
    private func verify(
        _ dataDirectory: String, _ history: AcknowledgedHistory, problems: inout [String], statistics: inout CrashStatistics
    ) async throws -> UInt64 {
        let store = try Store(path: dataDirectory)
        defer { try? store.close() }
        var highest: UInt64 = 0

        // Every own item present is one a writer produced, under the key it was written to.
        var present: [String: Item] = [:]
        for writer in 0..<16 {
            let collection = try Key(account: "acme", resource: "crash", type: .rnd, primaryKey: "w\(writer)")
            var range = QueryRange(limit: 500)
            while true {
                let page = try await store.query(collection, range)
                for item in page.items {
                    let key = try Key(account: "acme", resource: "crash", type: .rnd, primaryKey: Array("w\(writer)".utf8), sortKey: item.sortKey)
                    let value = CrashValue(item.value)
                    let shown = String(decoding: item.value.prefix(120), as: UTF8.self)
                    if !(value?.kind == "own" && value?.writer == writer && value.map { sortKey($0.n) } == key.sortKeyText) {
                        problems.append("\(key.text) holds a value no writer wrote there: \(shown)")
                    }
                    present[key.text] = item
                    highest = max(highest, item.version)
                }
                guard let next = page.continuation else { break }
                range.continuation = next
            }
        }
        for (key, ack) in history.own {
            guard let item = present[key] else {
                problems.append("acknowledged write lost: \(key) version \(ack.version)")
                continue
            }
            if item.version != ack.version { problems.append("\(key) has version \(item.version), acknowledged \(ack.version)") }
            if item.value != ack.value { problems.append("\(key) has a different value than acknowledged") }
        }
        statistics.durableButUnacknowledged = present.count - history.own.count

        // The shared key: at least the last acknowledged compare-and-swap, holding a value some writer produced.
        let shared = try await store.get(try Key(parsing: "acme/crash/rnd/shared"))
        if let last = history.shared.max(by: { $0.version < $1.version }) {
            if let shared {
                if shared.version < last.version {
                    problems.append("shared key at version \(shared.version), but \(last.version) was acknowledged")
                }
                if let acked = history.shared.first(where: { $0.version == shared.version }), shared.value != acked.value {
                    problems.append("shared key at version \(shared.version) differs from what was acknowledged")
                }
            } else {
                problems.append("shared key missing; version \(last.version) was acknowledged")
            }
        }
        if let shared {
            let value = CrashValue(shared.value)
            if value?.kind != "shared" { problems.append("shared key holds a value no writer wrote there") }
            if let value, value.previous >= shared.version {
                problems.append("shared value at version \(shared.version) says it replaced version \(value.previous)")
            }
            highest = max(highest, shared.version)
        }
        return highest
    }
}

struct CrashStatistics {
    var cycles = 0
    var acknowledged = 0
    var cyclesWithoutAcks = 0
    var durableButUnacknowledged = 0
}

/// One `ack <key text> <version> <value hex>` line of the writer.
struct Ack {
    let key: String
    let version: UInt64
    let value: [UInt8]

    init?(_ line: Substring) {
        let fields = line.split(separator: " ")
        guard fields.count == 4, fields[0] == "ack", let version = UInt64(fields[2]), let value = hexBytes(fields[3]) else { return nil }
        key = String(fields[1])
        self.version = version
        self.value = value
    }
}

/// Every write acknowledged across all runs.
struct AcknowledgedHistory {
    var own: [String: Ack] = [:]
    var shared: [Ack] = []
    /// The version each acknowledged compare-and-swap replaced: a version can be replaced only once.
    var replaced: [UInt64: UInt64] = [:]

    mutating func record(_ acks: [Ack], problems: inout [String]) {
        for ack in acks {
            guard let value = CrashValue(ack.value) else {
                problems.append("acknowledged value of \(ack.key) does not parse")
                continue
            }
            if ack.key == "acme/crash/rnd/shared" {
                if value.kind != "shared" { problems.append("shared key acknowledged with a value of kind \(value.kind)") }
                if let earlier = replaced[value.previous] {
                    problems.append("two acknowledged compare-and-swaps replaced version \(value.previous): versions \(earlier) and \(ack.version)")
                }
                replaced[value.previous] = ack.version
                if shared.contains(where: { $0.version == ack.version }) { problems.append("shared version \(ack.version) acknowledged twice") }
                shared.append(ack)
            } else {
                if !(value.kind == "own" && ack.key.hasSuffix("/w\(value.writer)/\(sortKey(value.n))")) {
                    problems.append("\(ack.key) acknowledged with a value for another key")
                }
                if own[ack.key] != nil { problems.append("\(ack.key) acknowledged twice: the writer reused a number") }
                own[ack.key] = ack
            }
        }
    }
}

/// A value as `CrashWriter` writes it, parsed and checked independently of the writer
/// (format in Sources/CrashWriter/main.swift):
/// `crash-v1 <kind> w=<w> n=<n> run=<pid> prev=<version> pad=<len>:<letters> sum=<fnv1a64 hex>`.
struct CrashValue: Equatable {
    let kind: String
    let writer: Int
    let n: Int
    let run: Int
    let previous: UInt64

    init?(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self), let sumRange = text.range(of: " sum=", options: .backwards) else { return nil }
        let body = text[..<sumRange.lowerBound]
        let sum = text[sumRange.upperBound...]
        guard sum.count == 16, UInt64(sum, radix: 16) == fnv1a64(body.utf8) else { return nil }
        let fields = body.split(separator: " ")
        guard fields.count == 7, fields[0] == "crash-v1", fields[1] == "own" || fields[1] == "shared" else { return nil }
        func number(_ field: Substring, _ name: String) -> Int? {
            field.hasPrefix(name + "=") ? Int(field.dropFirst(name.count + 1)) : nil
        }
        guard let writer = number(fields[2], "w"), let n = number(fields[3], "n"), let run = number(fields[4], "run"),
            let previous = number(fields[5], "prev"), fields[6].hasPrefix("pad=")
        else { return nil }
        let pad = fields[6].dropFirst(4).split(separator: ":", omittingEmptySubsequences: false)
        guard pad.count == 2, let length = Int(pad[0]), length == (n * 37 + writer * 11) % 200 else { return nil }
        let letters = (0..<length).map { Character(Unicode.Scalar(UInt8((writer * 31 + n * 7 + $0) % 26) + 97)) }
        guard String(letters) == pad[1] else { return nil }
        kind = String(fields[1])
        self.writer = writer
        self.n = n
        self.run = run
        self.previous = UInt64(previous)
    }
}

func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    bytes.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
}

/// The writer's sort key for number n: ten digits, zero-padded.
func sortKey(_ n: Int) -> String {
    let digits = String(n)
    return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
}

func hexBytes(_ text: Substring) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    var index = 0
    while index < digits.count {
        guard let high = UInt8(String(UnicodeScalar(digits[index])), radix: 16),
            let low = UInt8(String(UnicodeScalar(digits[index + 1])), radix: 16)
        else { return nil }
        bytes.append(high << 4 | low)
        index += 2
    }
    return bytes
}
