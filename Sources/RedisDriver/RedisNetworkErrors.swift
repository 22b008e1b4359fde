import NIOCore
import NIOPosix

/// A short account of a NIO connect or I/O error, for ``RedisError`` messages
/// (NIO's own descriptions list every address tried and every field).
func describeRedisNetworkError(_ error: any Error) -> String {
    switch error {
    case let error as RedisError:
        return "\(error)"
    case let error as NIOConnectionError:
        if error.dnsAError != nil || error.dnsAAAAError != nil { return "cannot resolve host \(error.host)" }
        if let first = error.connectionErrors.first { return describeRedisNetworkError(first.error) }
        return "cannot connect to \(error.host):\(error.port)"
    case let error as ChannelError:
        switch error {
        case .connectTimeout(let amount): return "no connection within \(Duration.nanoseconds(amount.nanoseconds))"
        case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed: return "the connection is closed"
        default: return "\(error)"
        }
    default:
        return "\(error)"
    }
}
