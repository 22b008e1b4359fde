import NIOCore

extension Channel {
    /// Whether this TCP connection reached itself. Connecting to a port in the
    /// ephemeral range where nothing listens can make Linux pick that very port
    /// as the source (TCP simultaneous open): the socket then reads back what it
    /// writes, which would look like a peer speaking our own frames.
    public var isConnectedToItself: Bool {
        guard let local = localAddress, let remote = remoteAddress else { return false }
        return local == remote
    }
}
