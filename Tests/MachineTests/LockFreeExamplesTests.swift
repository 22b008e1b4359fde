import Foundation
import Linearizability
import Machine
import TestSupport
import Testing

/// The C examples of examples/wasm on the real VM: eight clients call one
/// structure concurrently, ``InterleavingMemory`` interleaves them at every
/// host call in an order the seed fixes, and each history is checked against
/// the structure's sequential model. The stack's planted bug (`pop_unsafe`)
/// must be caught, which shows that the interleavings reach the races.
///
/// A failure names its seed and replays alone:
/// `TESSERA_LOCKFREE_SEED=<seed> swift test --filter LockFreeExamplesTests/<test>`.
@Suite(.cpuBound)
struct LockFreeExamplesTests {
    static let seeds: ClosedRange<UInt64> = 1...40
    /// The planted bug's search stops at the first seed that catches it.
    static let plantedBugSeeds: ClosedRange<UInt64> = 1...200
    static let clients = 8
    /// Every operation of a run overlaps most others (the scheduler interleaves all eight
    /// clients at every host call), and the checker's search grows with the orders of
    /// overlapping pushes: two operations each keep a run checkable within ``checkLimits``.
    static let operationsPerClient = 2
    static let checkLimits = CheckLimits(maxStatesPerKey: 4_000_000)
    /// Generous: the VM's own limits must never end an operation before the scheduler's timeouts do.
    static let limits = MachineLimits(deadline: .seconds(600), hostCalls: 100_000)
    static let seedVariable = "TESSERA_LOCKFREE_SEED"

    @Test func counterIsLinearizable() throws {
        try checkSeeds(ExampleCounter())
    }

    @Test func stackIsLinearizable() throws {
        try checkSeeds(ExampleStack())
    }

    @Test func queueIsLinearizable() throws {
        try checkSeeds(ExampleQueue())
    }

    @Test func setIsLinearizable() throws {
        try checkSeeds(ExampleSet())
    }

    /// `pop_unsafe` replaces the head with `write`: two pops that load the same
    /// top before either writes both return its value. Six values pushed one
    /// after another, then eight concurrent pops, make that likely in a few seeds.
    @Test func theStacksPlantedBugIsCaught() throws {
        let unsafe = ExampleStack(popExport: "pop_unsafe")
        let compiled = try Self.compile(unsafe.module)
        let phases: [[[StackModel.Input]]] = [
            [(1...6).map { StackModel.Input.push(ExampleStack.key, Int64($0)) }],
            Array(repeating: [StackModel.Input.pop(ExampleStack.key)], count: Self.clients),
        ]
        let seeds = Self.seedsToTry(Self.plantedBugSeeds)
        var caught: UInt64?
        for seed in seeds {
            let outcome = Self.run(unsafe, compiled, seed: seed, phases: phases)
            guard outcome.problems.isEmpty else {
                Issue.record("""
                    stack.wasm with pop_unsafe, seed \(seed): the run went wrong:
                    \(outcome.problems.joined(separator: "\n"))
                    \(Self.rerun(test: #function, seed: seed))
                    """)
                return
            }
            if LinearizabilityChecker(model: unsafe.model).check(outcome.history).counterexample != nil {
                caught = seed
                break
            }
        }
        guard let caught else {
            Issue.record("""
                stack.wasm with pop_unsafe: every history of seeds \(seeds.first!)...\(seeds.last!) was linearizable: \
                the interleaving never ran a pop between another's load of the head and its write
                """)
            return
        }
        // The same workload with the real pop passes under that seed: what failed was the bug, not the harness.
        let safe = ExampleStack()
        let outcome = Self.run(safe, try Self.compile(safe.module), seed: caught, phases: phases)
        Self.verify(safe, outcome, seed: caught, test: #function)
    }

    // MARK: Seeds

    /// Runs `example`'s random workload under each seed and checks every
    /// history, stopping at the first that fails.
    func checkSeeds<E: ExampleStructure>(_ example: E, test: String = #function) throws {
        let compiled = try Self.compile(example.module)
        for seed in Self.seedsToTry(Self.seeds) {
            let outcome = Self.run(example, compiled, seed: seed, phases: [Self.plan(example, seed: seed)])
            guard Self.verify(example, outcome, seed: seed, test: test) else { return }
        }
    }

    /// The seed in TESSERA_LOCKFREE_SEED when it is set (to replay a failure), else `range`.
    static func seedsToTry(_ range: ClosedRange<UInt64>) -> [UInt64] {
        if let text = ProcessInfo.processInfo.environment[seedVariable], let seed = UInt64(text) { return [seed] }
        return Array(range)
    }

    static func rerun(test: String, seed: UInt64) -> String {
        let name = test.split(separator: "(").first.map(String.init) ?? test
        return "rerun this seed alone: \(seedVariable)=\(seed) swift test --filter LockFreeExamplesTests/\(name)"
    }

    /// Records an issue naming the structure, the seed and what went wrong,
    /// and returns false, when the run failed or its history is not linearizable.
    @discardableResult
    static func verify<E: ExampleStructure>(_ example: E, _ outcome: SeedOutcome<E.Model.Input, E.Model.Output>,
                                            seed: UInt64, test: String) -> Bool {
        let structure = "\(example.module).wasm (\(example.exports))"
        guard outcome.problems.isEmpty else {
            Issue.record("""
                \(structure), seed \(seed): the run went wrong:
                \(outcome.problems.joined(separator: "\n"))
                \(rerun(test: test, seed: seed))
                """)
            return false
        }
        switch LinearizabilityChecker(model: example.model, limits: checkLimits).check(outcome.history) {
        case .linearizable:
            return true
        case .notLinearizable(let counterexample):
            Issue.record("""
                \(structure), seed \(seed): the history of \(outcome.history.count) operations is not linearizable.
                \(counterexample)
                \(rerun(test: test, seed: seed))
                """)
            return false
        case .timedOut:
            Issue.record("""
                \(structure), seed \(seed): the checker reached its limits on \(outcome.history.count) operations.
                \(rerun(test: test, seed: seed))
                """)
            return false
        }
    }

    // MARK: Runs

    static func compile(_ module: String) throws -> CompiledProgram {
        let bytes = try ExampleModules.bytes(module)
        return try ProgramRunner(limits: limits).compile(bytes)
    }

    /// Each client's operations: `operationsPerClient` random ones, drawn from the seed.
    static func plan<E: ExampleStructure>(_ example: E, seed: UInt64) -> [[E.Model.Input]] {
        var random = SplitMix64(seed: seed ^ 0x9E6C_63D0_676A_9A99)
        var plan: [[E.Model.Input]] = []
        for client in 0..<clients {
            var inputs: [E.Model.Input] = []
            for index in 0..<operationsPerClient {
                inputs.append(example.randomInput(client: client, index: index, random: &random))
            }
            plan.append(inputs)
        }
        return plan
    }

    /// Runs the phases one after another on one memory, each phase's clients
    /// concurrently (client numbers go on across phases), and returns the history.
    static func run<E: ExampleStructure>(_ example: E, _ compiled: CompiledProgram, seed: UInt64,
                                         phases: [[[E.Model.Input]]]) -> SeedOutcome<E.Model.Input, E.Model.Output> {
        let memory = InterleavingMemory(seed: seed)
        // A runner of its own per seed (a new pointer cache, ids 1, 2, 3…), so that a seed replays alone.
        let runner = ProgramRunner(limits: limits, pointers: PointerCache(), uniqueID: { memory.uniqueID() })
        let recording = Recording<E.Model.Input, E.Model.Output>()
        var firstClient = 0
        for phase in phases {
            let base = firstClient
            firstClient += phase.count
            let failure = memory.run(clients: phase.count) { index in
                let client = base + index
                for input in phase[index] {
                    guard let invokedAt = try? memory.beginOperation() else { return }
                    let call = example.call(input)
                    let arguments = call.arguments.map { String($0) }.joined(separator: ", ")
                    let described = "client \(client): \(call.export)(\(arguments))"
                    do {
                        let result = try runner.invoke(compiled, export: call.export, arguments: call.arguments,
                                                       account: "acme", mayWrite: true, memory: memory)
                        let returnedAt = memory.now()
                        if let value = result.results.first, let output = example.output(of: input, result: value) {
                            recording.record(Linearizability.Operation(
                                client: client, input: input, invokedAt: invokedAt, outcome: .ok(output, returnedAt: returnedAt)))
                        } else {
                            recording.record(Linearizability.Operation(client: client, input: input, invokedAt: invokedAt, outcome: .unknown))
                            recording.problem("\(described) returned \(result.results), which it cannot")
                        }
                    } catch {
                        recording.record(Linearizability.Operation(client: client, input: input, invokedAt: invokedAt, outcome: .unknown))
                        recording.problem("\(described) failed: \(error)")
                    }
                }
            }
            if let failure {
                recording.problem("the interleaving failed: \(failure)")
                break
            }
        }
        return recording.outcome()
    }
}

// MARK: - The structures

/// One C example as the checker sees it: how a model operation is called and
/// how its result reads. Every example works on the structure of id 0, which
/// the models call "0".
protocol ExampleStructure: Sendable {
    associatedtype Model: SequentialModel where Model.Input: Sendable, Model.Output: Sendable
    /// examples/wasm/<module>.c
    var module: String { get }
    var model: Model { get }
    /// The exports the workload calls, for messages.
    var exports: String { get }
    func call(_ input: Model.Input) -> (export: String, arguments: [Int64])
    /// The model's output for what the export returned; nil when it cannot return that.
    func output(of input: Model.Input, result: Int64) -> Model.Output?
    /// A random operation for `client`'s `index`th call (values pushed or enqueued are distinct).
    func randomInput(client: Int, index: Int, random: inout SplitMix64) -> Model.Input
}

extension ExampleStructure {
    static var id: Int64 { 0 }
    static var key: String { "0" }
}

struct ExampleCounter: ExampleStructure {
    let module = "counter"
    let model = CounterModel()
    let exports = "increment, value"

    func call(_ input: CounterModel.Input) -> (export: String, arguments: [Int64]) {
        switch input {
        case .increment: return ("increment", [Self.id])
        case .read: return ("value", [Self.id])
        }
    }

    func output(of input: CounterModel.Input, result: Int64) -> Int64? { result }

    func randomInput(client: Int, index: Int, random: inout SplitMix64) -> CounterModel.Input {
        random.int(0..<3) == 0 ? .read(Self.key) : .increment(Self.key)
    }
}

struct ExampleStack: ExampleStructure {
    let module = "stack"
    let model = StackModel()
    /// "pop", or the planted bug "pop_unsafe".
    var popExport = "pop"

    var exports: String { "push, \(popExport)" }

    func call(_ input: StackModel.Input) -> (export: String, arguments: [Int64]) {
        switch input {
        case .push(_, let value): return ("push", [Self.id, value])
        case .pop: return (popExport, [Self.id])
        }
    }

    func output(of input: StackModel.Input, result: Int64) -> StackModel.Output? {
        switch input {
        case .push:
            if result == 0 { return .pushed }
        case .pop:
            if result == -1 { return .empty }
            if result >= 0 { return .popped(result) }
        }
        return nil
    }

    func randomInput(client: Int, index: Int, random: inout SplitMix64) -> StackModel.Input {
        random.int(0..<2) == 0 ? .push(Self.key, Int64(client * 100 + index)) : .pop(Self.key)
    }
}

struct ExampleQueue: ExampleStructure {
    let module = "queue"
    let model = QueueModel()
    let exports = "enqueue, dequeue"

    func call(_ input: QueueModel.Input) -> (export: String, arguments: [Int64]) {
        switch input {
        case .enqueue(_, let value): return ("enqueue", [Self.id, value])
        case .dequeue: return ("dequeue", [Self.id])
        }
    }

    func output(of input: QueueModel.Input, result: Int64) -> QueueModel.Output? {
        switch input {
        case .enqueue:
            if result == 0 { return .enqueued }
        case .dequeue:
            if result == -1 { return .empty }
            if result >= 0 { return .dequeued(result) }
        }
        return nil
    }

    func randomInput(client: Int, index: Int, random: inout SplitMix64) -> QueueModel.Input {
        random.int(0..<2) == 0 ? .enqueue(Self.key, Int64(client * 100 + index)) : .dequeue(Self.key)
    }
}

struct ExampleSet: ExampleStructure {
    let module = "set"
    let model = SetModel()
    let exports = "insert, remove, contains"

    func call(_ input: SetModel.Input) -> (export: String, arguments: [Int64]) {
        switch input {
        case .insert(_, let element): return ("insert", [Self.id, element])
        case .remove(_, let element): return ("remove", [Self.id, element])
        case .contains(_, let element): return ("contains", [Self.id, element])
        }
    }

    func output(of input: SetModel.Input, result: Int64) -> Bool? {
        switch result {
        case 1: return true
        case 0: return false
        default: return nil
        }
    }

    /// Keys 0...3, so that clients meet on them.
    func randomInput(client: Int, index: Int, random: inout SplitMix64) -> SetModel.Input {
        let element = Int64(random.int(0..<4))
        switch random.int(0..<3) {
        case 0: return .insert(Self.key, element)
        case 1: return .remove(Self.key, element)
        default: return .contains(Self.key, element)
        }
    }
}

// MARK: - Histories

/// What one seed's run produced: the operations in invocation order, and
/// anything that went wrong besides linearizability (an invocation that
/// failed or returned nonsense, a stalled interleaving).
struct SeedOutcome<Input, Output> {
    var history: [Linearizability.Operation<Input, Output>]
    var problems: [String]
}

/// The clients' operations as they complete, from their threads.
final class Recording<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var operations: [Linearizability.Operation<Input, Output>] = []
    private var problems: [String] = []

    func record(_ operation: Linearizability.Operation<Input, Output>) {
        lock.lock()
        defer { lock.unlock() }
        operations.append(operation)
    }

    func problem(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        problems.append(text)
    }

    func outcome() -> SeedOutcome<Input, Output> {
        lock.lock()
        defer { lock.unlock() }
        return SeedOutcome(history: operations.sorted { $0.invokedAt < $1.invokedAt }, problems: problems)
    }
}

// MARK: - Building the examples

/// The C examples, built once per test run by examples/wasm/build into a temporary folder.
enum ExampleModules {
    struct BuildFailure: Error, CustomStringConvertible {
        var description: String
    }

    static let built: Result<[String: [UInt8]], BuildFailure> = build()

    static func bytes(_ name: String) throws -> [UInt8] {
        let modules = try built.get()
        guard let bytes = modules[name] else { throw BuildFailure(description: "examples/wasm/build made no \(name).wasm") }
        return bytes
    }

    private static func build() -> Result<[String: [UInt8]], BuildFailure> {
        // This file is <root>/Tests/MachineTests/LockFreeExamplesTests.swift.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("examples/wasm/build")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-wasm-examples-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", script.path, output.path]
        process.currentDirectoryURL = root
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do {
            try ChildProcess.spawn(process)
        } catch {
            return .failure(BuildFailure(description: "could not start \(script.path): \(error)"))
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            return .failure(BuildFailure(description: """
                examples/wasm/build \(output.path) failed (status \(process.terminationStatus)); its stderr:
                \(stderr)
                """))
        }
        var modules: [String: [UInt8]] = [:]
        for name in ["counter", "stack", "queue", "set"] {
            let path = output.appendingPathComponent("\(name).wasm").path
            guard let data = FileManager.default.contents(atPath: path) else {
                return .failure(BuildFailure(description: "examples/wasm/build did not make \(path); its stderr:\n\(stderr)"))
            }
            modules[name] = [UInt8](data)
        }
        return .success(modules)
    }
}
