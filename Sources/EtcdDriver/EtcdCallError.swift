/// Why a call to etcd, or a connection for calls, failed. `method` is the
/// gRPC path, e.g. "/etcdserverpb.KV/Put"; `endpoint` is "host:port".
public enum EtcdCallError: Error, CustomStringConvertible, Sendable, Hashable {
    /// An endpoint that is not "host:port".
    case invalidEndpoint(String)
    case connectTimedOut(endpoint: String, after: Duration)
    case connectFailed(endpoint: String, reason: String)
    /// The connection was closed, or lost, before the call's answer came.
    case connectionClosed(endpoint: String, method: String, reason: String)
    /// The call's stream was reset, or ended before a complete response.
    case streamClosed(endpoint: String, method: String, reason: String)
    case callTimedOut(endpoint: String, method: String, after: Duration)
    /// The response headers' `:status` was not 200.
    case unexpectedHTTPStatus(endpoint: String, method: String, status: String)
    /// The server broke HTTP/2's or gRPC's rules for a response (frame order, missing fields).
    case protocolViolation(endpoint: String, method: String, reason: String)
    /// The server answered with a gRPC status other than OK.
    case failed(endpoint: String, method: String, status: GRPCStatus)
    case malformedBody(endpoint: String, method: String, error: GRPCFramingError)
    case malformedMessage(endpoint: String, method: String, error: ProtobufDecodingError)
    /// No member named a leader that answered among the endpoints asked.
    case noLeader(endpoints: [String], observed: String)

    public var description: String {
        switch self {
        case .invalidEndpoint(let endpoint):
            "etcd endpoint \"\(endpoint)\" is not host:port"
        case .connectTimedOut(let endpoint, let after):
            "etcd \(endpoint): no connection within \(after)"
        case .connectFailed(let endpoint, let reason):
            "etcd \(endpoint): cannot connect: \(reason)"
        case .connectionClosed(let endpoint, let method, let reason):
            "etcd \(endpoint) \(method): the connection closed before the answer came: \(reason)"
        case .streamClosed(let endpoint, let method, let reason):
            "etcd \(endpoint) \(method): stream closed before a complete response: \(reason)"
        case .callTimedOut(let endpoint, let method, let after):
            "etcd \(endpoint) \(method): no answer within \(after)"
        case .unexpectedHTTPStatus(let endpoint, let method, let status):
            "etcd \(endpoint) \(method): HTTP status \(status) instead of 200"
        case .protocolViolation(let endpoint, let method, let reason):
            "etcd \(endpoint) \(method): \(reason)"
        case .failed(let endpoint, let method, let status):
            "etcd \(endpoint) \(method): \(status)"
        case .malformedBody(let endpoint, let method, let error):
            "etcd \(endpoint) \(method): \(error)"
        case .malformedMessage(let endpoint, let method, let error):
            "etcd \(endpoint) \(method): malformed response: \(error)"
        case .noLeader(let endpoints, let observed):
            "etcd \(endpoints.joined(separator: ", ")): no leader (\(observed))"
        }
    }
}
