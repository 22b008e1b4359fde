import NIOCore
import NIOPosix
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why one attempt got no answer from a node: the retry loop's input, never
/// shown to a caller as is (it ends up in an attempt log or a typed error).
struct TransportFailure: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// No connection could be made: the request was not sent.
        case connect
        /// The connection closed or failed.
        case closed
        /// No answer within the attempt's timeout.
        case timedOut
        /// The node sent bytes this client cannot decode.
        case protocolViolation
        /// The node's TLS refused this client's certificate (expired, not the CA's): retrying will not help.
        case credentialsRefused
    }

    var kind: Kind
    /// Short, lower-case, for an attempt log: "connection refused".
    var reason: String
    /// Whether the request may have reached the node (so a write may have applied).
    var requestMayHaveArrived: Bool

    static func connect(_ reason: String) -> TransportFailure {
        TransportFailure(kind: .connect, reason: reason, requestMayHaveArrived: false)
    }
}

/// Why the node's TLS refused this client's certificate, if that is what `error` is.
func credentialsRefusal(_ error: any Error) -> String? {
    let text = "\(error)"
    let alerts = [("ALERT_CERTIFICATE_EXPIRED", "the node refused this client's certificate: it has expired"),
                  ("ALERT_CERTIFICATE_REVOKED", "the node refused this client's certificate: it was revoked"),
                  ("ALERT_UNKNOWN_CA", "the node refused this client's certificate: it is not signed by the cluster's CA"),
                  ("ALERT_BAD_CERTIFICATE", "the node refused this client's certificate as bad"),
                  ("ALERT_CERTIFICATE_REQUIRED", "the node requires a client certificate")]
    return alerts.first { text.contains($0.0) }?.1
}

/// A short description of a network error, for people.
func describeNetworkError(_ error: any Error) -> String {
    switch error {
    case let failure as TransportFailure:
        return failure.reason
    case let error as NIOConnectionError:
        if error.dnsAError != nil || error.dnsAAAAError != nil {
            return "cannot resolve host \(error.host)"
        }
        if let first = error.connectionErrors.first { return describeNetworkError(first.error) }
        return "cannot connect to \(error.host):\(error.port)"
    case let error as IOError:
        return describeErrno(error.errnoCode, fallback: "\(error)")
    case let error as ChannelError:
        switch error {
        case .connectTimeout(let amount):
            return "connect timed out after \(Duration.nanoseconds(amount.nanoseconds).readable)"
        case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed:
            return "connection closed"
        default:
            return "\(error)"
        }
    case let error as WireError:
        return "malformed frame from the node: \(error.reason)"
    default:
        return "\(error)"
    }
}

private func describeErrno(_ code: CInt, fallback: String) -> String {
    switch code {
    case ECONNREFUSED: "connection refused"
    case ECONNRESET: "connection reset"
    case ECONNABORTED: "connection aborted"
    case EPIPE: "connection closed (broken pipe)"
    case ETIMEDOUT: "connection timed out"
    case EHOSTUNREACH: "host unreachable"
    case ENETUNREACH: "network unreachable"
    case EADDRNOTAVAIL: "address not available"
    default: fallback
    }
}
