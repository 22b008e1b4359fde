import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Loopback ports for tests that start servers, found by binding port 0.
///
/// Tests run in parallel in one process, and the system may hand a port that
/// one test just released to the next: one test's "closed" port would become
/// another's server port. So no port is handed out twice in a process.
public enum LoopbackPorts {
    private static let handedOut = Mutex<Set<Int>>([])

    /// Binds port 0 until the system offers a port this process has not handed out yet, and claims it.
    private static func bindUnclaimed() -> (Int32, Int)? {
        for _ in 0..<1_000 {
            guard let (descriptor, port) = bind(0) else { return nil }
            if handedOut.withLock({ $0.insert(port).inserted }) { return (descriptor, port) }
            close(descriptor)
        }
        return nil
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// A port that was free a moment ago, with the `count - 1` ports after it free too.
    public static func freeRange(count: Int) throws -> Int {
        for _ in 0..<100 {
            guard let (descriptor, base) = bindUnclaimed() else { continue }
            close(descriptor)
            guard base + count - 1 <= 65_535 else { continue }
            let rest = (1..<count).map { bind(base + $0) }
            rest.forEach { if let (descriptor, _) = $0 { close(descriptor) } }
            if rest.allSatisfy({ $0 != nil }),
                handedOut.withLock({ claimed in (1..<count).allSatisfy { claimed.insert(base + $0).inserted } }) {
                return base
            }
        }
        throw Unavailable(description: "no \(count) consecutive free ports on 127.0.0.1 after 100 tries")
    }

    /// `count` distinct ports the system hands out for port 0 (held open together so they differ).
    public static func free(_ count: Int) throws -> [Int] {
        var bound: [(descriptor: Int32, port: Int)] = []
        defer { bound.forEach { close($0.descriptor) } }
        for _ in 0..<count {
            guard let next = bindUnclaimed() else { throw Unavailable(description: "bind to 127.0.0.1:0 failed: errno \(errno)") }
            bound.append(next)
        }
        return bound.map(\.port)
    }

    /// A port nothing listens on (it was bound and released).
    public static func closed() throws -> Int {
        guard let (descriptor, port) = bindUnclaimed() else { throw Unavailable(description: "bind to 127.0.0.1:0 failed: errno \(errno)") }
        close(descriptor)
        return port
    }

    /// Whether something accepts TCP connections on `host`:`port` (an IPv4 address).
    public static func accepts(_ port: Int, host: String = "127.0.0.1") -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopback(port)
        address.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Binds 127.0.0.1:`port` (0: any) and returns the open socket and the port bound.
    private static func bind(_ port: Int) -> (Int32, Int)? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var address = loopback(port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                systemBind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            return nil
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// The C `bind`, which `LoopbackPorts.bind` shadows inside the type.
private func systemBind(_ descriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    bind(descriptor, address, length)
}

/// A loopback port that refuses connections for as long as this object holds
/// it: the socket is bound but never listens, so a connect gets a reset and
/// no other server (of this process or another) can take the port meanwhile.
/// A port merely released could be taken by a parallel test's server.
public final class RefusingPort: @unchecked Sendable {
    public let port: Int
    private var descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw LoopbackPorts.Unavailable(description: "socket failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                systemBind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw LoopbackPorts.Unavailable(description: "bind to 127.0.0.1:0 failed: errno \(errno)")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Lets the port go (also done when this object goes away).
    public func release() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    deinit { release() }
}
