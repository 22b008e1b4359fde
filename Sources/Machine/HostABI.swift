import WasmKit

/// The imports the host offers, all in module `tessera` (examples/wasm/tessera.h
/// is the C header; the README's "VM" section documents each). Offsets and
/// lengths are i32s into the guest's memory, which it must export as `memory`.
enum HostCall: String, CaseIterable, Sendable {
    /// (key, key length, out: 64 bytes) → 0. The key is `resource/rnd/primaryKey` in the caller's account.
    case pointer
    /// (pointer, sort key, sort key length, out, out capacity) → the word's length, or -1 when absent.
    case load
    /// (pointer, sort key, sort key length, value, value length or -1 for absent) → 1 when equal, else 0.
    case compare
    /// (pointer, sort key, sort key length, value, value length or -1 to delete) → 0.
    case write
    /// (pointer, sort key, sort key length, expected, its length or -1, desired, its length or -1) → 1 when swapped, else 0.
    case cas
    /// () → a 63-bit id, unique across the cluster with overwhelming probability.
    case uniqueID = "unique_id"
    /// (text, length): a log line returned to the invoker.
    case log

    static let moduleName = "tessera"

    var type: FunctionType {
        switch self {
        case .pointer: FunctionType(parameters: [.i32, .i32, .i32], results: [.i32])
        case .load, .compare, .write: FunctionType(parameters: Array(repeating: .i32, count: 5), results: [.i32])
        case .cas: FunctionType(parameters: Array(repeating: .i32, count: 7), results: [.i32])
        case .uniqueID: FunctionType(parameters: [], results: [.i64])
        case .log: FunctionType(parameters: [.i32, .i32], results: [])
        }
    }

    /// Calls that read or write the guest's memory need it exported.
    var usesGuestMemory: Bool { self != .uniqueID }
}

extension FunctionType {
    var signature: String {
        "(\(parameters.map(Self.name).joined(separator: ", "))) -> (\(results.map(Self.name).joined(separator: ", ")))"
    }

    static func name(_ type: ValueType) -> String {
        switch type {
        case .i32: "i32"
        case .i64: "i64"
        case .f32: "f32"
        case .f64: "f64"
        case .v128: "v128"
        case .ref: "ref"
        }
    }
}
