import Client
import Foundation
import Keyspace
import Linearizability
import Synchronization
import TestSupport
import Testing

/// The shipped lock-free examples (examples/wasm) on a real three-node cluster:
/// eight clients invoke them concurrently while a node is SIGKILLed and
/// restarted and then a leader is SIGSTOPped and resumed; each structure's
/// history is checked against its sequential model.
@Suite(.serialized) struct LockFreeProgramTests {
    static let seed: UInt64 = 0x1F_5EED

    @Test(.timeLimit(.minutes(6))) func lockFreeStructuresStayLinearizableThroughKillsAndPauses() async throws {
        let modules = try ExampleModules.build()
        try await LocalCluster.run(label: "lock-free") { cluster in
            let account = "acme"
            // Deploy, and find the leader of the counter's cell (the node to pause later).
            let counterWord = try Key(account: account, resource: "counters", type: .rnd, primaryKey: "0")
            let pauseTarget: Int = try await withClient(cluster.endpoints) { client in
                for (name, module) in modules { _ = try await client.deployProgram(account: account, name: name, module: module) }
                _ = try await client.get(counterWord)
                return client.placement(of: counterWord).cachedLeader.flatMap { cluster.index(of: $0) } ?? 0
            }
            let killTarget = (pauseTarget + 1) % cluster.nodes.count
            let histories = StructureHistories()
            let stop = StopFlag()
            var random = SplitMix64(seed: Self.seed)
            let seeds = (0..<8).map { _ in random.next() }
            let workers = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (number, seed) in seeds.enumerated() {
                        group.addTask {
                            await Self.client(number: number, seed: seed, account: account, endpoints: cluster.endpoints,
                                              histories: histories, stop: stop, maximumOperations: 400)
                        }
                    }
                }
            }
            defer { workers.cancel() }

            func waitForProgress(_ count: Int, _ what: String) async {
                let from = histories.succeeded
                let progressed = await waitUntil(timeout: .seconds(90)) { histories.succeeded >= from + count || cluster.hasUnexpectedExit }
                cluster.check(progressed, "fewer than \(count) invocations succeeded in 90 s \(what) (\(histories.succeeded - from))")
            }
            await waitForProgress(60, "with every node up")
            try cluster.requireHealthy()
            cluster.note("SIGKILL \(cluster.nodes[killTarget].id) after \(histories.succeeded) invocations")
            await cluster.kill(killTarget)
            await waitForProgress(40, "with \(cluster.nodes[killTarget].id) killed")
            try cluster.start(killTarget)
            try await cluster.waitUntilListening(killTarget)
            await waitForProgress(30, "after the restart")
            cluster.note("SIGSTOP \(cluster.nodes[pauseTarget].id) (leader of the counter's cell) after \(histories.succeeded) invocations")
            cluster.pause(pauseTarget)
            await waitForProgress(40, "with the leader paused")
            cluster.resume(pauseTarget)
            await waitForProgress(30, "after the leader resumed")
            stop.stop()
            await workers.value
            cluster.note("invocations: \(histories.summary)")
            for problem in histories.unexpected.prefix(10) { cluster.fail("unexpected failure: \(problem)") }

            for (name, result) in histories.check() {
                cluster.note("\(name): \(result.isLinearizable ? "linearizable" : result.isTimedOut ? "checker timed out" : "NOT linearizable")")
                cluster.check(result.isLinearizable,
                              "the \(name) history is not linearizable (seed \(Self.seed), test lockFreeStructuresStayLinearizableThroughKillsAndPauses): \(result)")
            }
            try cluster.requireHealthy()
        }
    }

    /// One client: random operations on the four structures, one at a time, each recorded in its structure's history.
    static func client(number: Int, seed: UInt64, account: String, endpoints: [String], histories: StructureHistories,
                       stop: StopFlag, maximumOperations: Int) async {
        var random = SplitMix64(seed: seed)
        var options = ClientOptions.cluster(deadline: .seconds(8))
        // A paused member holds an invocation until this passes; the client then tries it last for a while.
        options.invocationTimeout = .seconds(8)
        guard let client = try? await TesseraClient(endpoints: endpoints, options: options) else { return }
        defer { Task { await client.close() } }
        var nextValue = Int64(number) * 1_000_000
        for _ in 0..<maximumOperations where !stop.isStopped && !Task.isCancelled {
            let choice = random.next() % 10
            let element = Int64(random.next() % 4)
            nextValue += 1
            let operation: StructureOperation = switch choice {
            case 0: .counter(.increment("0"))
            case 1: .counter(.read("0"))
            case 2: .stack(.push("0", nextValue))
            case 3: .stack(.pop("0"))
            case 4: .queue(.enqueue("0", nextValue))
            case 5: .queue(.dequeue("0"))
            case 6, 7: .set(.insert("0", element))
            case 8: .set(.remove("0", element))
            default: .set(.contains("0", element))
            }
            let handle = histories.invoke(operation, client: number)
            do {
                let invocation = try await client.invoke(account: account, program: operation.program, export: operation.export,
                                                         arguments: operation.arguments)
                histories.complete(handle, operation, .ok(invocation.results.first ?? 0))
            } catch let error as TesseraClientError {
                switch error {
                case .unavailable: histories.complete(handle, operation, .failed)  // no member ran it
                case .program(.limitExceeded, _), .outcomeUnknown, .timeout, .internalError:
                    histories.complete(handle, operation, .unknown)
                default:
                    histories.complete(handle, operation, .unknown)
                    histories.unexpected(error.description)
                }
            } catch {
                histories.complete(handle, operation, .unknown)
                histories.unexpected("\(error)")
            }
        }
    }
}

/// An operation on one of the shipped structures, as the client invokes it and as its model sees it.
enum StructureOperation: Sendable {
    case counter(CounterModel.Input)
    case stack(StackModel.Input)
    case queue(QueueModel.Input)
    case set(SetModel.Input)

    var program: String {
        switch self {
        case .counter: "counter"
        case .stack: "stack"
        case .queue: "queue"
        case .set: "set"
        }
    }

    var export: String {
        switch self {
        case .counter(.increment): "increment"
        case .counter(.read): "value"
        case .stack(.push): "push"
        case .stack(.pop): "pop"
        case .queue(.enqueue): "enqueue"
        case .queue(.dequeue): "dequeue"
        case .set(.insert): "insert"
        case .set(.remove): "remove"
        case .set(.contains): "contains"
        }
    }

    /// The structure's id (0) and the operation's value, if any.
    var arguments: [Int64] {
        switch self {
        case .stack(.push(_, let value)), .queue(.enqueue(_, let value)): [0, value]
        case .set(.insert(_, let element)), .set(.remove(_, let element)), .set(.contains(_, let element)): [0, element]
        default: [0]
        }
    }
}

enum InvocationOutcome {
    case ok(Int64)
    case failed
    case unknown
}

/// The four histories, recorded from every client.
final class StructureHistories: Sendable {
    private struct State {
        var counter = History<CounterModel.Input, CounterModel.Output>()
        var stack = History<StackModel.Input, StackModel.Output>()
        var queue = History<QueueModel.Input, QueueModel.Output>()
        var set = History<SetModel.Input, SetModel.Output>()
        var succeeded = 0
        var failed = 0
        var unknown = 0
        var unexpected: [String] = []
    }

    private let state = Mutex(State())

    var succeeded: Int { state.withLock { $0.succeeded } }
    var unexpected: [String] { state.withLock { $0.unexpected } }
    var summary: String { state.withLock { "\($0.succeeded) ok, \($0.failed) not run, \($0.unknown) unknown" } }

    func unexpected(_ problem: String) {
        state.withLock { $0.unexpected.append(problem) }
    }

    func invoke(_ operation: StructureOperation, client: Int) -> Int {
        state.withLock { state in
            switch operation {
            case .counter(let input): state.counter.invoke(input, client: client)
            case .stack(let input): state.stack.invoke(input, client: client)
            case .queue(let input): state.queue.invoke(input, client: client)
            case .set(let input): state.set.invoke(input, client: client)
            }
            return client
        }
    }

    func complete(_ client: Int, _ operation: StructureOperation, _ outcome: InvocationOutcome) {
        state.withLock { state in
            switch outcome {
            case .ok: state.succeeded += 1
            case .failed: state.failed += 1
            case .unknown: state.unknown += 1
            }
            switch operation {
            case .counter:
                Self.record(&state.counter, client, outcome) { $0 }
            case .stack(let input):
                Self.record(&state.stack, client, outcome) { value in
                    if case .push = input { return .pushed }
                    return value < 0 ? .empty : .popped(value)
                }
            case .queue(let input):
                Self.record(&state.queue, client, outcome) { value in
                    if case .enqueue = input { return .enqueued }
                    return value < 0 ? .empty : .dequeued(value)
                }
            case .set:
                Self.record(&state.set, client, outcome) { $0 == 1 }
            }
        }
    }

    private static func record<Input, Output>(_ history: inout History<Input, Output>, _ client: Int, _ outcome: InvocationOutcome,
                                              _ output: (Int64) -> Output) {
        switch outcome {
        case .ok(let value): history.ok(output(value), client: client)
        case .failed: history.fail(client: client)
        case .unknown: history.info(client: client)
        }
    }

    func check() -> [(String, any CustomStringConvertible & StructureCheck)] {
        let state = state.withLock { $0 }
        let limits = CheckLimits(maxStatesPerKey: 2_000_000)
        return [
            ("counter", Self.run(LinearizabilityChecker(model: CounterModel(), limits: limits), state.counter)),
            ("stack", Self.run(LinearizabilityChecker(model: StackModel(), limits: limits), state.stack)),
            ("queue", Self.run(LinearizabilityChecker(model: QueueModel(), limits: limits), state.queue)),
            ("set", Self.run(LinearizabilityChecker(model: SetModel(), limits: limits), state.set)),
        ]
    }

    private static func run<Model: SequentialModel>(_ checker: LinearizabilityChecker<Model>,
                                                   _ history: History<Model.Input, Model.Output>) -> CheckResult<Model> {
        do {
            return try checker.check(history)
        } catch {
            preconditionFailure("the recorded history is malformed: \(error)")
        }
    }
}

protocol StructureCheck {
    var isLinearizable: Bool { get }
    var isTimedOut: Bool { get }
}

extension CheckResult: StructureCheck {}

/// The C examples, built by their script with the toolchain's clang.
enum ExampleModules {
    static let names = ["counter", "stack", "queue", "set"]

    static func build() throws -> [(String, [UInt8])] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-examples-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = root.appendingPathComponent("examples/wasm/build")
        process.arguments = [output.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ClusterError("examples/wasm/build failed (\(process.terminationStatus)): \(errorText)")
        }
        return try names.map { name in
            (name, [UInt8](try Data(contentsOf: output.appendingPathComponent("\(name).wasm"))))
        }
    }
}
