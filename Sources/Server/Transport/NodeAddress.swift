/// `HOST:PORT` as members files and `--listen` write it.
enum NodeAddress {
    static func parse(_ text: String) throws(NodeConfigurationError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":") else { throw .badAddress(text, reason: "no port") }
        let host = String(text[..<colon])
        guard !host.isEmpty else { throw .badAddress(text, reason: "no host") }
        guard let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw .badAddress(text, reason: "the port is not a number from 0 to 65535")
        }
        return (host, port)
    }
}
