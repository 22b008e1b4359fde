import Keyspace
import WasmKit

/// One invocation's side of the host calls: who is calling (the account is
/// always theirs), what they may do, the limits, and the pointers this
/// invocation made. Confined to the invocation's thread.
final class HostContext {
    let account: String
    let mayWrite: Bool
    let memory: any GlobalMemory
    let directory: PointerDirectory
    let limits: MachineLimits
    let startedAt: ContinuousClock.Instant
    let uniqueID: @Sendable () -> Int64
    private(set) var hostCalls = 0
    private(set) var logs: [String] = []
    private var minted: [Pointer: Key] = [:]

    init(account: String, mayWrite: Bool, memory: any GlobalMemory, directory: PointerDirectory,
         limits: MachineLimits, uniqueID: @escaping @Sendable () -> Int64) {
        self.account = account
        self.mayWrite = mayWrite
        self.memory = memory
        self.directory = directory
        self.limits = limits
        self.uniqueID = uniqueID
        startedAt = .now
    }

    /// Charges a host call against the host-call count, the deadline and the fuel.
    func enter(_ call: HostCall, store: Store) throws(MachineError) {
        hostCalls += 1
        guard hostCalls <= limits.hostCalls else {
            throw .limitExceeded(.hostCalls, "the program made more than \(limits.hostCalls) host calls (at \(call.rawValue))")
        }
        let elapsed = ContinuousClock.now - startedAt
        guard elapsed <= limits.deadline else {
            throw .limitExceeded(.deadline, "the program ran for \(elapsed) of its \(limits.deadline) (checked at host call \(call.rawValue))")
        }
        if let fuel = store.fuel {
            guard fuel.remaining >= MachineLimits.hostCallFuel else {
                throw .limitExceeded(.fuel, "the program used all \(limits.fuel) fuel (a host call costs \(MachineLimits.hostCallFuel))")
            }
            store.fuel = Fuel(remaining: fuel.remaining - MachineLimits.hostCallFuel)
        }
    }

    /// `pointer`: the key is the caller's, in their account; the pointer is
    /// recorded so later invocations can follow it (when the caller may write).
    func mint(keyText: [UInt8]) throws(MachineError) -> Pointer {
        guard let text = String(validating: keyText, as: UTF8.self) else {
            throw .badHostCall(call: "pointer", reason: "the key is not UTF-8")
        }
        let key: Key
        do {
            key = try Key(parsing: account + "/" + text)
        } catch {
            throw .badHostCall(call: "pointer", reason: "key \"\(text)\" in account \(account): \(error)")
        }
        guard key.sortKey.isEmpty else {
            throw .badHostCall(call: "pointer", reason: "key \"\(text)\" has a sort key; give resource/rnd/primaryKey and pass sort keys to each instruction")
        }
        guard key.type == .rnd else {
            throw .badHostCall(call: "pointer", reason: "key \"\(text)\" is \(key.type.rawValue); the VM's words are rnd items")
        }
        if mayWrite { try directory.register(key) }
        minted[key.pointer] = key
        return key.pointer
    }

    /// The word a guest pointer and sort key name, refusing pointers the caller's account never made.
    func word(pointerBytes: [UInt8], sortKey: [UInt8], call: HostCall) throws(MachineError) -> Key {
        guard let pointer = Pointer(bytes: pointerBytes) else {
            throw .badHostCall(call: call.rawValue, reason: "a pointer is \(Pointer.byteCount) bytes")
        }
        let collection: Key
        if let key = minted[pointer] {
            collection = key
        } else if let key = try directory.resolve(pointer, account: account) {
            minted[pointer] = key
            collection = key
        } else {
            throw .badHostCall(call: call.rawValue, reason: "pointer \(pointer.hex.prefix(16))… is not a pointer of account \(account): make pointers with pointer(key)")
        }
        do {
            return try collection.withSortKey(sortKey)
        } catch {
            throw .badHostCall(call: call.rawValue, reason: "sort key: \(error)")
        }
    }

    func requireWrite(_ call: HostCall) throws(MachineError) {
        guard mayWrite else {
            throw .forbidden("host call \(call.rawValue): the caller may only read account \(account)")
        }
    }

    func log(_ bytes: [UInt8]) {
        guard logs.count < MachineLimits.logLinesMaximum else { return }
        logs.append(String(decoding: bytes, as: UTF8.self))
    }
}
