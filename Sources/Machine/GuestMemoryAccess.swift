import WasmKit

/// The guest's memory as a host call sees it. WasmKit's accessors do not
/// check bounds, so every offset and length a guest passes is checked here
/// against the memory's current size before anything is read or written.
struct GuestMemoryAccess {
    let memory: Memory
    let call: HostCall

    init(_ caller: borrowing Caller, call: HostCall) throws(MachineError) {
        guard let memory = caller.instance?.exports[memory: "memory"] else {
            throw .badHostCall(call: call.rawValue, reason: "the program exports no memory named \"memory\"")
        }
        self.memory = memory
        self.call = call
    }

    /// An i32 argument read as an offset (wasm32 addresses are unsigned).
    static func offset(_ value: Value) -> Int {
        guard case .i32(let raw) = value else { return -1 }
        return Int(raw)
    }

    /// An i32 argument read as a signed length, where -1 may mean "absent".
    static func length(_ value: Value) -> Int {
        guard case .i32(let raw) = value else { return Int.min }
        return Int(Int32(bitPattern: raw))
    }

    private func checkRange(_ offset: Int, _ count: Int, _ what: String) throws(MachineError) {
        guard count >= 0 else { throw .badHostCall(call: call.rawValue, reason: "\(what) length \(count) is negative") }
        let size = memory.byteCount
        guard offset >= 0, offset <= size, count <= size - offset else {
            throw .badHostCall(call: call.rawValue,
                               reason: "\(what) at offset \(offset), \(count) bytes, is outside the program's memory of \(size) bytes")
        }
    }

    func read(_ offset: Int, _ count: Int, _ what: String, maximum: Int) throws(MachineError) -> [UInt8] {
        guard count <= maximum else {
            throw .badHostCall(call: call.rawValue, reason: "\(what) is \(count) bytes; at most \(maximum) are allowed")
        }
        try checkRange(offset, count, what)
        return memory.withUnsafeBufferPointer(offset: UInt(offset), count: count) { Array($0) }
    }

    func write(_ bytes: some Collection<UInt8>, at offset: Int, _ what: String) throws(MachineError) {
        try checkRange(offset, bytes.count, what)
        memory.withUnsafeMutableBufferPointer(offset: UInt(offset), count: bytes.count) { buffer in
            buffer.copyBytes(from: bytes)
        }
    }

    /// Checks an output buffer before a call that will fill it, so that a bad
    /// buffer fails the call before the cluster is asked anything.
    func checkWritable(_ offset: Int, _ count: Int, _ what: String) throws(MachineError) {
        try checkRange(offset, count, what)
    }
}
