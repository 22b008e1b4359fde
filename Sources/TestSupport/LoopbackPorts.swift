import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Loopback ports for tests that start servers, found by binding port 0.
public enum LoopbackPorts {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// A port that was free a moment ago, with the `count - 1` ports after it free too.
    public static func freeRange(count: Int) throws -> Int {
        for _ in 0..<100 {
            guard let (descriptor, base) = bind(0) else { continue }
            close(descriptor)
            guard base + count - 1 <= 65_535 else { continue }
            let rest = (1..<count).map { bind(base + $0) }
            rest.forEach { if let (descriptor, _) = $0 { close(descriptor) } }
            if rest.allSatisfy({ $0 != nil }) { return base }
        }
        throw Unavailable(description: "no \(count) consecutive free ports on 127.0.0.1 after 100 tries")
    }

    /// `count` distinct ports the system hands out for port 0 (held open together so they differ).
    public static func free(_ count: Int) throws -> [Int] {
        var bound: [(descriptor: Int32, port: Int)] = []
        defer { bound.forEach { close($0.descriptor) } }
        for _ in 0..<count {
            guard let next = bind(0) else { throw Unavailable(description: "bind to 127.0.0.1:0 failed: errno \(errno)") }
            bound.append(next)
        }
        return bound.map(\.port)
    }

    /// A port nothing listens on (it was bound and released).
    public static func closed() throws -> Int {
        guard let (descriptor, port) = bind(0) else { throw Unavailable(description: "bind to 127.0.0.1:0 failed: errno \(errno)") }
        close(descriptor)
        return port
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopback(port)
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
