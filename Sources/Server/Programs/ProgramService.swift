import Client
import Credentials
import Keyspace
import Machine
import Synchronization
import Wire

/// Deploy, list, remove and invoke on a node. Modules are stored through the
/// node's ``SystemClient``; invocations run on ``InvocationThreads`` with
/// host calls through that client (see ``ClientMemory``), acting only on the
/// caller's account and only as far as the caller's grants allow.
final class ProgramService: Sendable {
    let runner: ProgramRunner
    let threads: InvocationThreads
    let system: SystemClient
    let nodeID: String
    private let cache = ProgramCache()

    init(runner: ProgramRunner, threads: InvocationThreads, system: SystemClient, nodeID: String) {
        self.runner = runner
        self.threads = threads
        self.system = system
        self.nodeID = nodeID
    }

    func deploy(account: String, name: String, module: [UInt8], by subject: Subject) async -> ClientResponse.Body {
        let key: Key
        switch programKey(account: account, name: name, subject: subject, permission: .write) {
        case .failure(let refusal): return refusal.body
        case .success(let found): key = found
        }
        let runner = self.runner
        let compiled: CompiledProgram
        do {
            compiled = try await threads.run { () throws(MachineError) in try runner.compile(module) }
        } catch {
            return Self.body(for: error)
        }
        do {
            let client = try await system.connected()
            guard case .written(let version) = try await client.put(key, value: module) else {
                return .error(.internalError, "storing program \(name): the unconditional write was refused")
            }
            cache.store(account: account, name: name, version: version, program: compiled)
            return .programDeployed(Self.wire(name: name, version: version, compiled.summary))
        } catch {
            return Self.failure("storing program \(name)", error)
        }
    }

    func list(account: String, by subject: Subject) async -> ClientResponse.Body {
        if let refusal = check(account: account, subject: subject, permission: .read) { return refusal.body }
        do {
            let client = try await system.connected()
            var programs: [WireProgram] = []
            var after: [UInt8]?
            repeat {
                let page = try await client.query(try ProgramKeys.collection(account), limit: 100, after: after)
                for item in page.items {
                    let name = String(decoding: item.sortKey, as: UTF8.self)
                    let exports = await exports(account: account, name: name, version: item.version, module: item.value)
                    programs.append(WireProgram(name: name, sizeBytes: UInt32(item.value.count), version: item.version,
                                                sha256: ProgramSummary.sha256Hex(item.value),
                                                exports: exports.map { WireExport(name: $0.name, signature: $0.signature) }))
                }
                after = page.continuation
            } while after != nil
            return .programs(programs)
        } catch {
            return Self.failure("listing programs", error)
        }
    }

    func remove(account: String, name: String, by subject: Subject) async -> ClientResponse.Body {
        let key: Key
        switch programKey(account: account, name: name, subject: subject, permission: .write) {
        case .failure(let refusal): return refusal.body
        case .success(let found): key = found
        }
        do {
            let result = try await system.connected().delete(key, condition: .exists)
            cache.forget(account: account, name: name)
            guard case .written(let version) = result else {
                return .error(.notFound, MachineError.noSuchProgram(account: account, name: name).description)
            }
            return .written(version: version)
        } catch {
            return Self.failure("removing program \(name)", error)
        }
    }

    func invoke(account: String, name: String, export: String, arguments: [Int64], by subject: Subject) async -> ClientResponse.Body {
        let key: Key
        switch programKey(account: account, name: name, subject: subject, permission: .read) {
        case .failure(let refusal): return refusal.body
        case .success(let found): key = found
        }
        let client: TesseraClient
        let program: CompiledProgram
        do {
            client = try await system.connected()
            guard let found = try await load(key, account: account, name: name, client: client) else {
                return .error(.notFound, MachineError.noSuchProgram(account: account, name: name).description)
            }
            program = found
        } catch let error as MachineError {
            return Self.body(for: error)
        } catch {
            return Self.failure("reading program \(name)", error)
        }
        let mayWrite = subject.refusal(.write, in: account) == nil
        let runner = self.runner
        let memory = ClientMemory(client: client)
        do {
            let result = try await threads.run { () throws(MachineError) in
                try runner.invoke(program, export: export, arguments: arguments, account: account, mayWrite: mayWrite, memory: memory)
            }
            let elapsed = result.elapsed.components
            return .invoked(WireInvocation(
                node: nodeID, results: result.results, fuelUsed: result.fuelUsed, hostCalls: UInt32(clamping: result.hostCalls),
                elapsedMicroseconds: UInt64(max(0, elapsed.seconds)) * 1_000_000 + UInt64(max(0, elapsed.attoseconds)) / 1_000_000_000_000,
                logs: result.logs))
        } catch {
            return Self.body(for: error)
        }
    }

    func stop() {
        threads.stop()
    }

    /// The program's compiled module: from this node's cache when it was read
    /// less than ``ProgramCache/freshSeconds`` ago, else read again (and compiled
    /// again only when its version changed).
    private func load(_ key: Key, account: String, name: String, client: TesseraClient) async throws -> CompiledProgram? {
        if let fresh = cache.fresh(account: account, name: name) { return fresh }
        guard let item = try await client.get(key, consistency: .strong) else {
            cache.forget(account: account, name: name)
            return nil
        }
        if let same = cache.program(account: account, name: name, version: item.version) {
            cache.store(account: account, name: name, version: item.version, program: same)
            return same
        }
        let runner = self.runner
        let module = item.value
        let compiled = try await threads.run { () throws(MachineError) in try runner.compile(module) }
        cache.store(account: account, name: name, version: item.version, program: compiled)
        return compiled
    }

    /// A stored program's exports: from the cache, else compiled on the invocation
    /// threads (never on the cooperative pool) and cached. Bytes that do not compile
    /// (written to the program collection by hand) list no exports.
    private func exports(account: String, name: String, version: UInt64, module: [UInt8]) async -> [ProgramExport] {
        if let program = cache.program(account: account, name: name, version: version) { return program.summary.exports }
        let runner = self.runner
        guard let compiled = try? await threads.run({ () throws(MachineError) in try runner.compile(module) }) else { return [] }
        cache.store(account: account, name: name, version: version, program: compiled)
        return compiled.summary.exports
    }

    private struct Refusal: Error {
        let body: ClientResponse.Body
    }

    private func check(account: String, subject: Subject, permission: Permissions) -> Refusal? {
        do {
            try Key.validateAccount(account)
        } catch {
            return Refusal(body: .error(.badRequest, "account: \(error)"))
        }
        if let refusal = subject.refusal(permission, in: account) { return Refusal(body: .error(.forbidden, refusal)) }
        return nil
    }

    private func programKey(account: String, name: String, subject: Subject, permission: Permissions) -> Result<Key, Refusal> {
        if let refusal = check(account: account, subject: subject, permission: permission) { return .failure(refusal) }
        if let problem = ProgramKeys.nameProblem(name) { return .failure(Refusal(body: .error(.badRequest, problem))) }
        do {
            return .success(try ProgramKeys.program(name, account: account))
        } catch {
            return .failure(Refusal(body: .error(.badRequest, "program name: \(error)")))
        }
    }

    static func wire(name: String, version: UInt64, _ summary: ProgramSummary) -> WireProgram {
        WireProgram(name: name, sizeBytes: UInt32(summary.sizeBytes), version: version, sha256: summary.sha256,
                    exports: summary.exports.map { WireExport(name: $0.name, signature: $0.signature) })
    }

    static func body(for error: MachineError) -> ClientResponse.Body {
        switch error {
        case .invalidModule, .unsupportedImport, .noSuchExport, .badArguments, .badHostCall:
            .error(.invalidProgram, error.description)
        case .noSuchProgram: .error(.notFound, error.description)
        case .trapped: .error(.programTrapped, error.description)
        case .limitExceeded: .error(.limitExceeded, error.description)
        case .forbidden(let reason): .error(.forbidden, reason)
        case .memoryUnavailable: .error(.unavailable, error.description)
        case .overloaded: .error(.overloaded, error.description)
        }
    }

    static func failure(_ what: String, _ error: any Error) -> ClientResponse.Body {
        switch error as? TesseraClientError {
        case .forbidden(let message): .error(.forbidden, message)
        case .badRequest(let message): .error(.badRequest, "\(what): \(message)")
        case .some(let clientError): .error(.unavailable, "\(what): \(clientError)")
        case nil: .error(.internalError, "\(what): \(error)")
        }
    }
}
