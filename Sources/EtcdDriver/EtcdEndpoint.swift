/// "host:port" split for the socket; "[::1]:2379" for IPv6 literals.
struct EtcdEndpoint: Sendable, Hashable {
    let host: String
    let port: Int

    init(parsing text: String) throws(EtcdCallError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65_535).contains(port)
        else { throw .invalidEndpoint(text) }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw .invalidEndpoint(text) }
        self.host = String(host)
        self.port = port
    }
}
