/// Why deploying or invoking a program failed. Each names the part at fault;
/// none of them loses or corrupts data: a failed deploy writes nothing, and a
/// failed invocation leaves exactly the host calls it already made.
public enum MachineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The module does not parse, validate or compile, or breaks a deploy rule
    /// (size, memory export, memory size). Found at deploy.
    case invalidModule(String)
    /// The module imports something the host does not offer.
    case unsupportedImport(module: String, name: String, reason: String)
    /// No program of this name in the account.
    case noSuchProgram(account: String, name: String)
    /// The program has no function export of this name.
    case noSuchExport(name: String, available: [String])
    /// The arguments do not match the export's parameters.
    case badArguments(String)
    /// A host call got input it cannot act on (out-of-bounds pointer or length,
    /// malformed key, a pointer outside the caller's account). Nothing of that call was done.
    case badHostCall(call: String, reason: String)
    /// The guest trapped (unreachable, division by zero, out-of-bounds access, stack exhausted).
    case trapped(String)
    /// The invocation went past one of its limits.
    case limitExceeded(MachineLimit, String)
    /// The caller's credentials do not allow a host call (a write with read-only grants).
    case forbidden(String)
    /// The cluster could not serve a host call (no leader, timeout); the call's outcome is unknown.
    case memoryUnavailable(call: String, reason: String)
    /// The node's invocation threads and their queue are full: nothing ran.
    case overloaded(String)

    public var description: String {
        switch self {
        case .invalidModule(let reason): "invalid module: \(reason)"
        case .unsupportedImport(let module, let name, let reason): "unsupported import \(module).\(name): \(reason)"
        case .noSuchProgram(let account, let name): "no program named \(name) in account \(account)"
        case .noSuchExport(let name, let available):
            "no exported function named \(name); the program exports \(available.isEmpty ? "no functions" : available.joined(separator: ", "))"
        case .badArguments(let reason): "bad arguments: \(reason)"
        case .badHostCall(let call, let reason): "host call \(call): \(reason)"
        case .trapped(let reason): "the program trapped: \(reason)"
        case .limitExceeded(let limit, let detail): "\(limit.rawValue) limit exceeded: \(detail)"
        case .forbidden(let reason): reason
        case .memoryUnavailable(let call, let reason): "host call \(call) failed in the cluster (outcome unknown): \(reason)"
        case .overloaded(let reason): reason
        }
    }
}
