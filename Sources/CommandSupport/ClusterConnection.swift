import Client
import Foundation

/// Connecting to a cluster from a command, and turning what goes wrong into exit statuses.
public enum ClusterConnection {
    /// A client for `endpoints`. When every endpoint refuses connections it fails at
    /// once (rather than after the client's deadline) and says how to start a cluster;
    /// for a write (`isWrite`), it also says that nothing was sent or applied.
    public static func connect(
        endpoints: [String], isDefault: Bool, options: ClientOptions = ClientOptions(), isWrite: Bool = false
    ) async throws -> TesseraClient {
        let verdicts = Array(zip(endpoints, NodeProbe.checkAll(endpoints)))
        if !verdicts.isEmpty && verdicts.allSatisfy({ $0.1 != .mayAnswer }) {
            let refused = verdicts.filter { $0.1 == .refused }.map(\.0)
            var problems: [String] = []
            if !refused.isEmpty { problems.append(noNodeMessage(refused, isDefault: isDefault)) }
            for case let (endpoint, .unresolvable(reason)) in verdicts {
                problems.append("cannot resolve the host of \(endpoint): \(reason)")
            }
            if isWrite { problems.append("the write was not sent, so it was not applied") }
            throw commandFailure(problems.joined(separator: "; "), status: ExitStatus.unavailable)
        }
        do {
            return try await TesseraClient(endpoints: endpoints, options: options)
        } catch {
            throw failure(error, write: isWrite)
        }
    }

    public static func noNodeMessage(_ endpoints: [String], isDefault: Bool) -> String {
        let places: String =
            switch endpoints.count {
            case 1: endpoints[0]
            case 2: "\(endpoints[0]) or \(endpoints[1])"
            default: endpoints.dropLast().joined(separator: ", ") + " or " + endpoints[endpoints.count - 1]
            }
        return isDefault
            ? "no Tessera node at \(places): start one with `tessera dev`"
            : "no Tessera node at \(places) (connection refused): check --endpoint, or start a local cluster with `tessera dev`"
    }

    /// The exit to throw for an error from the client; other errors (an `ExitCode`
    /// already reported, a `ValidationError`) pass through unchanged. For a write, the
    /// message says whether it may have been applied.
    public static func failure(_ error: any Error, write: Bool) -> any Error {
        guard let error = error as? TesseraClientError else { return error }
        func withOutcome(_ text: String, mayHaveApplied: Bool) -> String {
            guard write, !text.contains("outcome is unknown"), !text.contains("was not applied") else { return text }
            return text + (mayHaveApplied
                ? "; the write's outcome is unknown (it may have been applied: read the key to find out)"
                : "; the write was not applied")
        }
        switch error {
        case .badRequest(let message):
            return commandFailure(message, status: ExitStatus.badInput)
        case .timeout, .unavailable:
            return commandFailure(withOutcome(error.description, mayHaveApplied: error.writeMayHaveApplied),
                                  status: ExitStatus.unavailable)
        case .outcomeUnknown:
            return commandFailure(withOutcome(error.description, mayHaveApplied: true), status: ExitStatus.unavailable)
        case .internalError:
            return commandFailure(withOutcome(error.description, mayHaveApplied: true), status: ExitStatus.ioError)
        case .protocolError:
            return commandFailure(error.description, status: ExitStatus.protocolError)
        case .throttled:
            return commandFailure(withOutcome(error.description, mayHaveApplied: false), status: ExitStatus.throttled)
        case .forbidden:
            return commandFailure(withOutcome(error.description, mayHaveApplied: false), status: ExitStatus.forbidden)
        case .unauthenticated:
            return commandFailure(withOutcome(error.description, mayHaveApplied: false), status: ExitStatus.unauthenticated)
        case .program(let failure, _):
            let status = switch failure {
            case .invalidProgram: ExitStatus.badInput
            case .trapped: ExitStatus.programTrapped
            case .limitExceeded: ExitStatus.limitExceeded
            case .notFound: ExitStatus.notFound
            }
            return commandFailure(error.description, status: status)
        case .queue(let failure, _):
            let status = switch failure {
            case .unknownQueue, .trimmed: ExitStatus.notFound
            case .fenced, .leaseHeld, .leaseExpired: ExitStatus.conditionFailed
            case .badSequence: ExitStatus.badInput
            }
            return commandFailure(error.description, status: status)
        }
    }
}
