import Keyspace
import WasmKit

/// The `tessera` module's functions, bound to one invocation's ``HostContext``.
enum HostImports {
    static func bound(to context: HostContext, store: Store) -> Imports {
        var imports = Imports()
        for call in HostCall.allCases {
            let function = Function(store: store, parameters: call.type.parameters, results: call.type.results) { caller, arguments in
                try context.enter(call, store: caller.store)
                return try perform(call, arguments, caller: caller, context: context)
            }
            imports.define(module: HostCall.moduleName, name: call.rawValue, function)
        }
        return imports
    }

    /// For deploy's check, which instantiates without running guest code.
    static func refusing(store: Store) -> Imports {
        var imports = Imports()
        for call in HostCall.allCases {
            let function = Function(store: store, parameters: call.type.parameters, results: call.type.results) { _, _ in
                throw MachineError.invalidModule("host call \(call.rawValue) during deploy's check")
            }
            imports.define(module: HostCall.moduleName, name: call.rawValue, function)
        }
        return imports
    }

    private static func perform(_ call: HostCall, _ arguments: [Value], caller: borrowing Caller,
                                context: HostContext) throws(MachineError) -> [Value] {
        if call == .uniqueID { return [.i64(UInt64(bitPattern: context.uniqueID() & Int64.max))] }
        let guest = try GuestMemoryAccess(caller, call: call)
        func offset(_ index: Int) -> Int { GuestMemoryAccess.offset(arguments[index]) }
        func length(_ index: Int) -> Int { GuestMemoryAccess.length(arguments[index]) }
        func word() throws(MachineError) -> Key {
            let pointer = try guest.read(offset(0), Pointer.byteCount, "pointer", maximum: Pointer.byteCount)
            let sortKey = try guest.read(offset(1), length(2), "sort key", maximum: Key.sortKeyLengthMaximum)
            return try context.word(pointerBytes: pointer, sortKey: sortKey, call: call)
        }
        /// A value argument, where length -1 means absent (or delete).
        func optionalValue(_ index: Int, _ what: String) throws(MachineError) -> [UInt8]? {
            if length(index + 1) == -1 { return nil }
            return try guest.read(offset(index), length(index + 1), what, maximum: MachineLimits.wordBytesMaximum)
        }
        switch call {
        case .pointer:
            let text = try guest.read(offset(0), length(1), "key", maximum: Key.primaryKeyLengthRange.upperBound + 320)
            try guest.checkWritable(offset(2), Pointer.byteCount, "pointer output")
            let pointer = try context.mint(keyText: text)
            try guest.write(pointer.bytes, at: offset(2), "pointer output")
            return [.i32(0)]
        case .load:
            let target = try word()
            let capacity = length(4)
            try guest.checkWritable(offset(3), capacity, "output buffer")
            guard let value = try context.memory.load(target) else { return [.i32(UInt32(bitPattern: -1))] }
            try guest.write(value.prefix(capacity), at: offset(3), "output buffer")
            return [.i32(UInt32(value.count))]
        case .compare:
            let target = try word()
            let expected = try optionalValue(3, "value")
            let current = try context.memory.load(target)
            return [.i32(current == expected ? 1 : 0)]
        case .write:
            let target = try word()
            let value = try optionalValue(3, "value")
            try context.requireWrite(call)
            try context.memory.write(target, value: value)
            return [.i32(0)]
        case .cas:
            let target = try word()
            let expected = try optionalValue(3, "expected value")
            let desired = try optionalValue(5, "desired value")
            try context.requireWrite(call)
            return [.i32(try context.memory.compareAndSwap(target, expected: expected, desired: desired) ? 1 : 0)]
        case .log:
            let text = try guest.read(offset(0), min(length(1), MachineLimits.logLineBytesMaximum), "log text",
                                      maximum: MachineLimits.logLineBytesMaximum)
            context.log(text)
            return []
        case .uniqueID:
            preconditionFailure("handled above")
        }
    }
}
