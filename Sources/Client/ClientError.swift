/// Why a ``TesseraClient`` call failed. Every message names the operation and,
/// where one is at fault, the node; it is meant to be shown to a person as is.
public enum TesseraClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request can never succeed as sent (bad key, too large, keys in
    /// different cells, unknown member): retrying will not help.
    case badRequest(String)
    /// The call's deadline passed. For a write, `outcomeUnknown` tells whether it
    /// may have been applied (an attempt reached a node and got no definite answer).
    case timeout(String, outcomeUnknown: Bool)
    /// The client cannot reach what the call needs (closed client, node down for a
    /// direct call such as ``TesseraClient/nodeStatus(of:)``).
    case unavailable(String)
    /// A node failed while handling the request (storage, corruption): see its log.
    case internalError(String)
    /// A write may or may not have been applied, and retrying cannot tell.
    case outcomeUnknown(String)
    /// A node answered something this client does not understand.
    case protocolError(String)
    /// The key's account is over its request rate; the message names the
    /// account and the limit. Nothing was applied: slow down and retry.
    case throttled(String)
    /// The client's credentials are missing, unknown, wrong, expired or revoked
    /// (the message says which). Nothing was done; retrying will not help.
    case unauthenticated(String)
    /// The credentials do not allow this in the account the message names.
    /// Nothing was done; retrying will not help.
    case forbidden(String)
    /// A program, or one invocation of it, failed in a way the kind names;
    /// retrying the same call will fail the same way.
    case program(ProgramFailure, String)
    /// A queue operation was refused in a way the kind names (fenced, trimmed,
    /// a lease held by another); nothing was changed.
    case queue(QueueFailure, String)

    public var description: String {
        switch self {
        case .badRequest(let message): "bad request: \(message)"
        case .timeout(let message, _): "timed out: \(message)"
        case .unavailable(let message): "unavailable: \(message)"
        case .internalError(let message): "node error: \(message)"
        case .outcomeUnknown(let message): "outcome unknown: \(message)"
        case .protocolError(let message): "protocol error: \(message)"
        case .throttled(let message): "throttled: \(message)"
        case .unauthenticated(let message): "not authenticated: \(message)"
        case .forbidden(let message): "forbidden: \(message)"
        case .program(let failure, let message): "\(failure.rawValue): \(message)"
        case .queue(let failure, let message): "\(failure.rawValue): \(message)"
        }
    }

    /// The message without the category prefix.
    public var message: String {
        switch self {
        case .badRequest(let message), .timeout(let message, _), .unavailable(let message),
             .internalError(let message), .outcomeUnknown(let message), .protocolError(let message),
             .throttled(let message), .unauthenticated(let message), .forbidden(let message), .program(_, let message),
             .queue(_, let message):
            message
        }
    }

    /// Whether a write this error reports may have been applied.
    public var writeMayHaveApplied: Bool {
        switch self {
        case .timeout(_, let outcomeUnknown): outcomeUnknown
        case .outcomeUnknown: true
        default: false
        }
    }
}

/// How a program call failed (``TesseraClientError/program(_:_:)``).
public enum ProgramFailure: String, Sendable, Equatable {
    /// The module, the export, the arguments or a host call's input is at fault: nothing was stored, or the call did nothing.
    case invalidProgram = "invalid program"
    /// The program trapped; the host calls it made before stand.
    case trapped = "program trapped"
    /// The invocation went past the limit the message names; the host calls it made before stand.
    case limitExceeded = "limit exceeded"
    /// No such program.
    case notFound = "not found"
}
