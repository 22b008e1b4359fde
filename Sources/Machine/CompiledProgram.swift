import Crypto
import Keyspace
@_spi(Fuzzing) import WasmKit

/// A module that passed deploy's checks, parsed once and kept by the node
/// that runs it. The function bodies were compiled eagerly at the check, so a
/// bad body fails the deploy, not a later invocation.
public struct CompiledProgram: @unchecked Sendable {
    /// Sendable in WasmKit; held here with the summary.
    let module: Module
    public let summary: ProgramSummary
    /// Each function export's type, so that an invocation's export and arguments
    /// are checked before anything of the module runs (its start function included).
    let exportTypes: [String: FunctionType]
}

/// What deploy and list report about a program.
public struct ProgramSummary: Sendable, Equatable {
    public var sizeBytes: Int
    /// Hex SHA-256 of the module's bytes: what `wasm list` shows to tell versions apart.
    public var sha256: String
    /// Function exports with their signatures, sorted by name.
    public var exports: [ProgramExport]

    public init(sizeBytes: Int, sha256: String, exports: [ProgramExport]) {
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.exports = exports
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        Hex.encode(Array(SHA256.hash(data: bytes)))
    }
}

public struct ProgramExport: Sendable, Equatable {
    public var name: String
    public var signature: String

    public init(name: String, signature: String) {
        self.name = name
        self.signature = signature
    }
}

/// Deploy's checks: size, parse, imports (only what ``HostCall`` offers, with
/// its exact signature), a `memory` export when the imports need one, the
/// memory's initial size within the limit, and eager compilation of every
/// function body. Nothing here runs guest code: the start function is dropped
/// for the check.
enum ProgramCheck {
    static func compile(_ bytes: [UInt8], engine: Engine, limits: MachineLimits) throws(MachineError) -> CompiledProgram {
        guard !bytes.isEmpty else { throw .invalidModule("the module is empty") }
        guard bytes.count <= MachineLimits.moduleBytesMaximum else {
            throw .invalidModule("the module is \(bytes.count) bytes; at most \(MachineLimits.moduleBytesMaximum) are allowed")
        }
        let module: Module
        do {
            module = try parseWasm(bytes: bytes)
        } catch {
            throw .invalidModule("does not parse as WebAssembly: \(error)")
        }
        var needsMemory = false
        for entry in module.imports {
            guard entry.module == HostCall.moduleName else {
                throw .unsupportedImport(module: entry.module, name: entry.name,
                                         reason: "the host offers module \(HostCall.moduleName) only")
            }
            guard let call = HostCall(rawValue: entry.name) else {
                throw .unsupportedImport(module: entry.module, name: entry.name,
                                         reason: "the host offers \(HostCall.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard case .function(let typeIndex) = entry.descriptor, let type = module.functionType(at: typeIndex) else {
                throw .unsupportedImport(module: entry.module, name: entry.name, reason: "it is a function, imported as something else")
            }
            guard type == call.type else {
                throw .unsupportedImport(module: entry.module, name: entry.name,
                                         reason: "its signature is \(call.type.signature), imported as \(type.signature)")
            }
            needsMemory = needsMemory || call.usesGuestMemory
        }
        var checked = module
        checked.dropStartFunction()
        let store = Store(engine: engine)
        store.resourceLimiter = MemoryLimiter(maximumBytes: limits.memoryBytes)
        let instance: Instance
        do {
            instance = try checked.instantiate(store: store, imports: HostImports.refusing(store: store))
        } catch let error as MachineError {
            throw .invalidModule("\(error)")
        } catch {
            throw .invalidModule("does not validate: \(error)")
        }
        if needsMemory, instance.exports[memory: "memory"] == nil {
            throw .invalidModule("it imports host calls that take offsets into its memory, so it must export that memory as \"memory\"")
        }
        var exports: [ProgramExport] = []
        var exportTypes: [String: FunctionType] = [:]
        for (name, value) in instance.exports {
            if case .function(let function) = value {
                exports.append(ProgramExport(name: name, signature: function.type.signature))
                exportTypes[name] = function.type
            }
        }
        exports.sort { $0.name < $1.name }
        return CompiledProgram(module: module, summary: ProgramSummary(
            sizeBytes: bytes.count, sha256: ProgramSummary.sha256Hex(bytes), exports: exports), exportTypes: exportTypes)
    }
}

/// Memory growth past the limit ends the invocation with a typed error naming
/// the limit, rather than memory.grow quietly returning -1.
final class MemoryLimiter: ResourceLimiter {
    let maximumBytes: Int

    init(maximumBytes: Int) {
        self.maximumBytes = maximumBytes
    }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= maximumBytes else {
            throw MachineError.limitExceeded(.memory, "the program asked for \(desired) bytes of memory; the limit is \(maximumBytes)")
        }
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool {
        guard desired <= 100_000 else {
            throw MachineError.limitExceeded(.memory, "the program asked for a table of \(desired) elements; the limit is 100000")
        }
        return true
    }
}
