/// What went wrong between the driver and a Redis server.
public enum RedisError: Error, CustomStringConvertible, Sendable {
    /// No connection: refused, unreachable, or not made within the connect timeout.
    case connectFailed(host: String, port: Int, reason: String)
    /// The connection closed (or failed) before the reply came; `reason` says how.
    case connectionClosed(reason: String)
    /// Redis answered with an error reply: its line, such as `ERR unknown command 'FOO'`.
    case errorReply(String)
    /// Redis sent bytes that are no RESP2 reply; the connection was closed.
    case malformedReply(RESPDecodingError)
    /// A reply of a type or value the command does not produce, such as `SET` not answering `+OK`.
    case unexpectedReply(command: String, reply: RESPValue)
    /// No reply within the request timeout; the connection was closed, since every reply after it
    /// would otherwise be taken for the answer to an earlier request.
    case timedOut(command: String, after: Duration)
    /// A command with no words: Redis would silently ignore it and never answer.
    case emptyCommand

    public var description: String {
        switch self {
        case .connectFailed(let host, let port, let reason): "redis at \(host):\(port): cannot connect: \(reason)"
        case .connectionClosed(let reason): "redis connection closed: \(reason)"
        case .errorReply(let message): "redis answered with an error: \(message)"
        case .malformedReply(let error): "redis sent a \(error)"
        case .unexpectedReply(let command, let reply): "redis answered \(command) with \(reply)"
        case .timedOut(let command, let after): "redis did not answer \(command) within \(after)"
        case .emptyCommand: "an empty redis command (Redis ignores it and never answers)"
        }
    }
}
