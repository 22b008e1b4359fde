import Keyspace
@_spi(Fuzzing) import WasmKit
import WAT

/// A node's VM: WasmKit engines with fuel metering (one compiling eagerly for deploy's check, one lazily for invocations) and the
/// pointer cache its invocations share. ``invoke`` blocks for as long as the
/// program runs and its host calls wait on the cluster, so it must run on a
/// thread of its own (``InvocationThreads``), never on Swift's cooperative pool.
public final class ProgramRunner: @unchecked Sendable {
    // WasmKit's engines serialize their shared state with locks (trait MultiThread).
    /// Deploy's check compiles every body (a bad one must fail there).
    private let checkingEngine: Engine
    /// Invocations compile only the functions they call: compiling a whole module at
    /// every instantiation would cost each invocation the size of the module.
    private let runningEngine: Engine
    public let limits: MachineLimits
    public let pointers: PointerCache
    private let uniqueID: @Sendable () -> Int64

    public init(limits: MachineLimits = .defaults, pointers: PointerCache = PointerCache(),
                uniqueID: @escaping @Sendable () -> Int64 = { Int64.random(in: 0...Int64.max) }) {
        checkingEngine = Engine(configuration: EngineConfiguration(compilationMode: .eager, fuelMetering: true))
        runningEngine = Engine(configuration: EngineConfiguration(compilationMode: .lazy, fuelMetering: true))
        self.limits = limits
        self.pointers = pointers
        self.uniqueID = uniqueID
    }

    /// Deploy's checks (see ``ProgramCheck``); the result is what invocations run.
    public func compile(_ bytes: [UInt8]) throws(MachineError) -> CompiledProgram {
        try ProgramCheck.compile(bytes, engine: checkingEngine, limits: limits)
    }

    /// The binary form of a module written in the WebAssembly text format.
    public static func assemble(text: String) throws(MachineError) -> [UInt8] {
        do {
            return try wat2wasm(text)
        } catch {
            throw .invalidModule("the text format does not assemble: \(error)")
        }
    }

    /// Runs `export` with integer arguments for `account`. Host calls act on
    /// that account's words through `memory`; writes need `mayWrite`.
    public func invoke(_ program: CompiledProgram, export: String, arguments: [Int64], account: String, mayWrite: Bool,
                       memory: any GlobalMemory) throws(MachineError) -> InvocationResult {
        guard arguments.count <= MachineLimits.argumentsMaximum else {
            throw .badArguments("\(arguments.count) arguments; at most \(MachineLimits.argumentsMaximum) are allowed")
        }
        guard let exportType = program.exportTypes[export] else {
            throw .noSuchExport(name: export, available: program.summary.exports.map(\.name))
        }
        let values = try Self.values(arguments, for: exportType, export: export)
        let context = HostContext(account: account, mayWrite: mayWrite, memory: memory,
                                  directory: PointerDirectory(memory: memory, cache: pointers), limits: limits,
                                  uniqueID: uniqueID)
        let store = Store(engine: runningEngine)
        store.resourceLimiter = MemoryLimiter(maximumBytes: limits.memoryBytes)
        store.fuel = Fuel(remaining: limits.fuel)
        let instance: Instance
        do {
            instance = try program.module.instantiate(store: store, imports: HostImports.bound(to: context, store: store))
        } catch {
            throw Self.failure(error, limits: limits)
        }
        guard let function = instance.exports[function: export] else {
            throw .noSuchExport(name: export, available: program.summary.exports.map(\.name))
        }
        let results: [Value]
        do {
            results = try function.invoke(values)
        } catch {
            throw Self.failure(error, limits: limits)
        }
        let fuelLeft = store.fuel?.remaining ?? 0
        return InvocationResult(results: results.map(Self.integer), fuelUsed: limits.fuel - min(fuelLeft, limits.fuel),
                                hostCalls: context.hostCalls, logs: context.logs,
                                elapsed: ContinuousClock.now - context.startedAt)
    }

    /// Integer arguments for the export's parameters; checked before anything runs.
    static func values(_ arguments: [Int64], for type: FunctionType, export: String) throws(MachineError) -> [Value] {
        guard arguments.count == type.parameters.count else {
            throw .badArguments("\(export) takes \(type.parameters.count) arguments \(type.signature), \(arguments.count) given")
        }
        if let result = type.results.first(where: { $0 != .i32 && $0 != .i64 }) {
            throw .badArguments("\(export) returns \(FunctionType.name(result)); only integer results can be returned")
        }
        var values: [Value] = []
        for (index, (argument, parameter)) in zip(arguments, type.parameters).enumerated() {
            switch parameter {
            case .i32:
                guard let value = Int32(exactly: argument).map({ UInt32(bitPattern: $0) }) ?? UInt32(exactly: argument) else {
                    throw .badArguments("argument \(index + 1) of \(export) is an i32; \(argument) does not fit in 32 bits")
                }
                values.append(.i32(value))
            case .i64:
                values.append(.i64(UInt64(bitPattern: argument)))
            default:
                throw .badArguments("parameter \(index + 1) of \(export) is \(FunctionType.name(parameter)); only integer parameters can be passed")
            }
        }
        return values
    }

    static func integer(_ value: Value) -> Int64 {
        switch value {
        case .i32(let raw): Int64(Int32(bitPattern: raw))
        case .i64(let raw): Int64(bitPattern: raw)
        default: 0
        }
    }

    static func failure(_ error: any Error, limits: MachineLimits) -> MachineError {
        if let error = error as? MachineError { return error }
        let text = "\(error)"
        if text.contains("out of fuel") {
            return .limitExceeded(.fuel, "the program used all \(limits.fuel) fuel")
        }
        let firstLine = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? text
        return .trapped(firstLine.hasPrefix("Trap: ") ? String(firstLine.dropFirst(6)) : firstLine)
    }
}

/// What an invocation returned, and what it used.
public struct InvocationResult: Sendable, Equatable {
    public var results: [Int64]
    public var fuelUsed: UInt64
    public var hostCalls: Int
    public var logs: [String]
    public var elapsed: Duration
}
