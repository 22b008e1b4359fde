import ArgumentParser
import Client
import CommandSupport
import Foundation
import Keyspace
import Machine
import Synchronization

/// `tessera-bench wasm`: what programs cost, on a running cluster (by default
/// the dev cluster of this folder). Each phase runs `clients` concurrent
/// callers with one request in flight each; the native phases run the same
/// loop from the Swift client, in the same run, so that ratios are fair.
struct WasmBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wasm",
        abstract: "Benchmark programs: the Wasm counter against the same CAS loop in the Swift client, invocation and host-call overhead, stack pairs.",
        discussion: """
            Run it against a cluster built in release mode, e.g.:
              swift build -c release --scratch-path .build-release --product tessera
              .build-release/release/tessera dev &            # waits for "ready"
              .build-release/release/tessera-bench wasm --quick
            It deploys its programs into account bench-wasm (the shipped counter and stack
            from examples/wasm, built with examples/wasm/build, and two probes) and prints
            a table. Goal: the Wasm counter reaches at least 50% of the native client's
            increments/s.
            """)

    @OptionGroup var endpoint: EndpointOptions

    @Option(help: ArgumentHelp("Seconds per phase (default 4, or 2 with --quick).", valueName: "S"))
    var seconds: Double?

    @Option(help: ArgumentHelp("Comma-separated counts of concurrent callers.", valueName: "list"))
    var clients = "1,16,64"

    @Flag(help: "Shorter phases.")
    var quick = false

    @Option(help: ArgumentHelp("Folder of the built examples (built there with examples/wasm/build when missing).", valueName: "dir"))
    var examples = "examples/wasm/.build"

    static let account = "bench-wasm"

    func run() async throws {
        warnIfDebugBuild()
        let phaseSeconds = seconds ?? (quick ? 2 : 4)
        let counts = clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        guard !counts.isEmpty else { throw ValidationError("--clients needs at least one positive count") }
        let modules = try Self.modules(examples: examples)
        let (endpoints, isDefault) = endpoint.resolved
        var options = try endpoint.clientOptions()
        options.deadline = .seconds(30)
        let client = try await ClusterConnection.connect(endpoints: endpoints, isDefault: isDefault, options: options)
        defer { Task { await client.close() } }
        let progress = BenchProgress()
        var rows: [String] = []
        do {
            for (name, module) in modules { _ = try await client.deployProgram(account: Self.account, name: name, module: module) }
            let run = Runner(client: client, seconds: phaseSeconds, progress: progress)
            for contended in [true, false] {
                for count in counts {
                    let native = try await run.phase("native counter, \(count) callers\(contended ? ", one counter" : "")", count) { worker, _ in
                        try await Self.nativeIncrement(client, id: contended ? 1_000 : 1_000 + Int64(worker) + Int64(count) * 10_000)
                    }
                    let wasm = try await run.phase("wasm counter, \(count) callers\(contended ? ", one counter" : "")", count) { worker, _ in
                        _ = try await client.invoke(account: Self.account, program: "counter", export: "increment",
                                                    arguments: [contended ? 0 : Int64(worker) + Int64(count) * 10_000])
                    }
                    let ratio = wasm.perSecond / max(native.perSecond, 1e-9)
                    rows.append(String(format: "| counter, %@, %d callers | %.0f | %.0f | %.2f× | %@ |",
                                       contended ? "one shared counter" : "a counter per caller", count, wasm.perSecond,
                                       native.perSecond, ratio, ratio >= 0.5 ? "met" : "missed"))
                }
            }
            let empty = try await run.phase("empty invocation, 1 caller", 1) { _, _ in
                _ = try await client.invoke(account: Self.account, program: "probes", export: "nothing")
            }
            let emptyMany = try await run.phase("empty invocation, 16 callers", 16) { _, _ in
                _ = try await client.invoke(account: Self.account, program: "probes", export: "nothing")
            }
            let probeWord = try Key(account: Self.account, resource: "probes", type: .rnd, primaryKey: "w")
            _ = try await client.put(probeWord, value: [1])
            let loads = try await run.phase("100 loads per invocation, 1 caller", 1) { _, _ in
                _ = try await client.invoke(account: Self.account, program: "probes", export: "loads", arguments: [100])
            }
            let gets = try await run.phase("native strong get, 1 caller", 1) { _, _ in
                _ = try await client.get(probeWord, consistency: .strong)
            }
            let pairs = try await run.phase("stack push+pop pairs, 16 callers", 16) { worker, iteration in
                _ = try await client.invoke(account: Self.account, program: "stack", export: "push", arguments: [7, Int64(iteration)])
                _ = try await client.invoke(account: Self.account, program: "stack", export: "pop", arguments: [7])
            }
            progress.finish()
            let hostCallMicroseconds = (loads.p50Microseconds - empty.p50Microseconds) / 100
            print("""
                ## Programs (the VM), \(String(format: "%.0f", phaseSeconds)) s per phase

                | workload | Wasm ops/s | native ops/s | Wasm ÷ native | goal ≥ 0.5× |
                |---|---|---|---|---|
                \(rows.joined(separator: "\n"))

                | overhead | measured |
                |---|---|
                | empty invocation, 1 caller | \(String(format: "%.0f", empty.perSecond))/s, p50 \(String(format: "%.0f", empty.p50Microseconds)) µs |
                | empty invocation, 16 callers | \(String(format: "%.0f", emptyMany.perSecond))/s, p50 \(String(format: "%.0f", emptyMany.p50Microseconds)) µs |
                | per host call (load; from 100 loads per invocation) | \(String(format: "%.0f", hostCallMicroseconds)) µs (native strong get p50 \(String(format: "%.0f", gets.p50Microseconds)) µs) |
                | stack push+pop pairs, 16 callers | \(String(format: "%.0f", pairs.perSecond)) pairs/s |
                """)
        } catch {
            progress.finish()
            throw ClusterConnection.failure(error, write: true)
        }
    }

    /// The native loop: read, then put-if-unchanged, until one wins.
    static func nativeIncrement(_ client: TesseraClient, id: Int64) async throws {
        let key = try Key(account: account, resource: "counters", type: .rnd, primaryKey: "\(id)")
        while true {
            let current = try await client.get(key, consistency: .strong)
            let value = current.flatMap { item in item.value.count == 8 ? item.value.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) } : nil } ?? 0
            let next = withUnsafeBytes(of: (value + 1).littleEndian) { Array($0) }
            let condition: WriteCondition = current.map { .valueEquals($0.value) } ?? .absent
            if try await client.put(key, value: next, condition: condition).isWritten { return }
        }
    }

    /// The shipped counter and stack (built by their script when missing) and two probes.
    static func modules(examples: String) throws -> [(String, [UInt8])] {
        let counter = examples + "/counter.wasm", stack = examples + "/stack.wasm"
        if !FileManager.default.fileExists(atPath: counter) || !FileManager.default.fileExists(atPath: stack) {
            let build = Process()
            build.executableURL = URL(fileURLWithPath: "examples/wasm/build")
            build.arguments = [examples]
            try build.run()
            build.waitUntilExit()
            guard build.terminationStatus == 0 else {
                throw commandFailure("examples/wasm/build \(examples) failed (run it from the repository's root)", status: ExitStatus.ioError)
            }
        }
        let probes = try ProgramRunner.assemble(text: """
            (module
              (import "tessera" "pointer" (func $pointer (param i32 i32 i32) (result i32)))
              (import "tessera" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1 1)
              (data (i32.const 0) "probes/rnd/w")
              (func (export "nothing"))
              (func (export "loads") (param $n i64)
                (drop (call $pointer (i32.const 0) (i32.const 12) (i32.const 64)))
                (loop $next
                  (drop (call $load (i32.const 64) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 8)))
                  (local.set $n (i64.sub (local.get $n) (i64.const 1)))
                  (br_if $next (i64.gt_s (local.get $n) (i64.const 0))))))
            """)
        return [("counter", [UInt8](try Data(contentsOf: URL(fileURLWithPath: counter)))),
                ("stack", [UInt8](try Data(contentsOf: URL(fileURLWithPath: stack)))),
                ("probes", probes)]
    }

    struct PhaseResult {
        var perSecond: Double
        var p50Microseconds: Double
    }

    struct Runner {
        let client: TesseraClient
        let seconds: Double
        let progress: BenchProgress

        /// `callers` loops calling `body(worker, iteration)` for `seconds`; completions per second and the median latency.
        func phase(_ name: String, _ callers: Int,
                   _ body: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> PhaseResult {
            progress.say(name)
            let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
            let started = ContinuousClock.now
            let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                for worker in 0..<callers {
                    group.addTask {
                        var samples: [Double] = []
                        var iteration = 0
                        while ContinuousClock.now < end {
                            let begin = ContinuousClock.now
                            try await body(worker, iteration)
                            let elapsed = (ContinuousClock.now - begin).components
                            samples.append(Double(elapsed.seconds) * 1e6 + Double(elapsed.attoseconds) / 1e12)
                            iteration += 1
                        }
                        return samples
                    }
                }
                return try await group.reduce(into: [Double]()) { $0 += $1 }
            }
            let wall = (ContinuousClock.now - started).components
            let wallSeconds = Double(wall.seconds) + Double(wall.attoseconds) / 1e18
            let sorted = latencies.sorted()
            return PhaseResult(perSecond: Double(sorted.count) / wallSeconds, p50Microseconds: sorted.isEmpty ? 0 : sorted[sorted.count / 2])
        }
    }
}
