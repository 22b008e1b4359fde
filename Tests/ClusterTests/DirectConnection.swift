import Dispatch
import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A client connection to exactly one node, speaking the wire protocol by
/// hand: requests go to that node and nowhere else, and its raw answers come
/// back (`item`, `notLeader`, `error`…), with no routing, redirect or retry.
/// Used to send strong reads and writes to a deposed leader (the client's
/// `get(_:consistency:at:)` covers reads only, and hides the raw answer).
///
/// Blocking sockets with receive/send timeouts; every call runs on a
/// Dispatch thread so the Swift concurrency pool is never blocked.
final class DirectConnection: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        /// The node may have received the request (for a write: its outcome is unknown).
        let mayHaveArrived: Bool
    }

    let address: String
    private let descriptor: Int32
    private var nextID: UInt64 = 1
    private var buffer: [UInt8] = []
    private let lock = NSLock()
    private var closed = false

    /// Connects to `127.0.0.1:port` and says hello as a client. `timeout` bounds each later call.
    init(port: Int, timeout: Duration) throws {
        address = "127.0.0.1:\(port)"
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket() failed: errno \(errno)", mayHaveArrived: false) }
        var time = timeval(tv_sec: Int(timeout.components.seconds),
                           tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = UInt16(port).bigEndian
        socketAddress.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // A throwing init still runs deinit (every property is set by now), which closes
        // the socket unless `disconnect()` already did: closing it here as well closed
        // the descriptor twice, and the second close could take a file another thread
        // had just opened under the same number (a store's pages.db: EBADF).
        guard connected == 0 else {
            let code = errno
            disconnect()
            throw Failure(description: "connect to \(address) failed: \(String(cString: strerror(code)))", mayHaveArrived: false)
        }
        do {
            try sendAll(Frame.hello(.client).encoded())
        } catch {
            disconnect()
            throw error
        }
    }

    deinit { disconnect() }

    func disconnect() {
        lock.lock()
        defer { lock.unlock() }
        if !closed {
            closed = true
            closeDescriptor(descriptor)
        }
    }

    /// Opens a connection off the concurrency pool.
    static func open(port: Int, timeout: Duration) async throws -> DirectConnection {
        try await offPool { try DirectConnection(port: port, timeout: timeout) }
    }

    /// Sends `bodies` back to back and returns their answers in the same order.
    /// Throws if the connection fails or a reply does not come within the timeout
    /// (the connection is useless afterwards).
    func call(_ bodies: [ClientRequest.Body]) async throws -> [ClientResponse.Body] {
        try await offPool { try self.callBlocking(bodies) }
    }

    func call(_ body: ClientRequest.Body) async throws -> ClientResponse.Body {
        try await call([body])[0]
    }

    private func callBlocking(_ bodies: [ClientRequest.Body]) throws -> [ClientResponse.Body] {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { throw Failure(description: "connection to \(address) is closed", mayHaveArrived: false) }
        let first = nextID
        nextID += UInt64(bodies.count)
        var bytes: [UInt8] = []
        for (offset, body) in bodies.enumerated() {
            bytes += Frame.request(ClientRequest(id: first + UInt64(offset), body: body)).encoded()
        }
        try sendAll(bytes)
        var answers = [ClientResponse.Body?](repeating: nil, count: bodies.count)
        var missing = bodies.count
        while missing > 0 {
            let frame = try readFrame()
            guard case .response(let response) = frame else {
                throw Failure(description: "\(address) sent a \(frame) frame, not a response", mayHaveArrived: true)
            }
            guard response.id >= first, response.id < first + UInt64(bodies.count) else { continue }  // a late answer
            let slot = Int(response.id - first)
            if answers[slot] == nil { missing -= 1 }
            answers[slot] = response.body
        }
        return answers.map { $0! }
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { raw in
                send(descriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "send to \(address) failed: \(String(cString: strerror(errno)))", mayHaveArrived: sent > 0)
            }
            sent += count
        }
    }

    private func readFrame() throws -> Frame {
        try fill(Frame.headerBytes)
        let prefix = UInt32(buffer[0]) | UInt32(buffer[1]) << 8 | UInt32(buffer[2]) << 16 | UInt32(buffer[3]) << 24
        let length: Int
        do {
            length = try Frame.bodyLength(prefix: prefix)
        } catch {
            throw Failure(description: "\(address) sent a bad frame: \(error)", mayHaveArrived: true)
        }
        try fill(Frame.headerBytes + length)
        let body = Array(buffer[Frame.headerBytes..<(Frame.headerBytes + length)])
        buffer.removeFirst(Frame.headerBytes + length)
        do {
            return try Frame(body: body)
        } catch {
            throw Failure(description: "\(address) sent a frame that does not decode: \(error)", mayHaveArrived: true)
        }
    }

    private func fill(_ count: Int) throws {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while buffer.count < count {
            let received = chunk.withUnsafeMutableBytes { raw in recv(descriptor, raw.baseAddress, raw.count, 0) }
            if received > 0 {
                buffer += chunk[0..<received]
            } else if received == 0 {
                throw Failure(description: "\(address) closed the connection", mayHaveArrived: true)
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                throw Failure(description: "\(address) did not answer in time", mayHaveArrived: true)
            } else {
                throw Failure(description: "receive from \(address) failed: \(String(cString: strerror(errno)))", mayHaveArrived: true)
            }
        }
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// Runs blocking work on a Dispatch thread and awaits it.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
