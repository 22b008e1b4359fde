import Foundation

/// A TCP connect with a short timeout, to tell "nothing listens there" from everything else.
public enum NodeProbe {
    public enum Verdict: Equatable, Sendable {
        /// Something accepted the connection, or it timed out: let the client find out.
        case mayAnswer
        /// Every address of the endpoint actively refused: nothing listens there.
        case refused
        /// The host name does not resolve.
        case unresolvable(String)
    }

    public static func check(_ endpoint: String, timeoutMilliseconds: Int32 = 1_000) -> Verdict {
        guard let (host, port) = split(endpoint) else { return .mayAnswer }  // the client reports the syntax
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        if code == EAI_NONAME || code == EAI_FAIL { return .unresolvable(String(cString: gai_strerror(code))) }
        guard code == 0, let first = list else { return .mayAnswer }
        defer { freeaddrinfo(list) }
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            if !refused(current.pointee, timeoutMilliseconds: timeoutMilliseconds) { return .mayAnswer }
            node = current.pointee.ai_next
        }
        return .refused
    }

    /// Probes every endpoint at once, each on a thread of its own, and returns
    /// as soon as one may answer (the others are then reported `.mayAnswer`
    /// too: callers act only when none may). A node that accepts connections
    /// and never answers (stopped, hung) costs a command nothing while another
    /// answers; when none does, this takes the slowest probe (one timeout).
    public static func checkAll(_ endpoints: [String], timeoutMilliseconds: Int32 = 1_000) -> [Verdict] {
        guard endpoints.count > 1 else { return endpoints.map { check($0, timeoutMilliseconds: timeoutMilliseconds) } }
        let probes = ProbeResults(count: endpoints.count)
        for (index, endpoint) in endpoints.enumerated() {
            Thread { probes.set(index, check(endpoint, timeoutMilliseconds: timeoutMilliseconds)) }.start()
        }
        return probes.waitForAnswerOrAll()
    }

    private final class ProbeResults: @unchecked Sendable {
        private let condition = NSCondition()
        private var verdicts: [Verdict?]
        init(count: Int) { verdicts = Array(repeating: nil, count: count) }

        func set(_ index: Int, _ verdict: Verdict) {
            condition.withLock {
                verdicts[index] = verdict
                condition.broadcast()
            }
        }

        func waitForAnswerOrAll() -> [Verdict] {
            condition.withLock {
                while !verdicts.contains(.mayAnswer) && verdicts.contains(nil) { condition.wait() }
                return verdicts.map { $0 ?? .mayAnswer }
            }
        }
    }

    private static func refused(_ address: addrinfo, timeoutMilliseconds: Int32) -> Bool {
        let descriptor = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
        guard descriptor >= 0 else { return false }
        defer { _ = close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        if connect(descriptor, address.ai_addr, address.ai_addrlen) == 0 { return false }
        if errno == ECONNREFUSED { return true }
        guard errno == EINPROGRESS else { return false }
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return false }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return false }
        return code == ECONNREFUSED
    }

    /// `host:port` or `[v6]:port`.
    public static func split(_ endpoint: String) -> (host: String, port: Int)? {
        let text = endpoint.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()) else { return nil }
            return (String(text[text.index(after: text.startIndex)..<close]), port)
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        return (String(text[..<colon]), port)
    }
}
