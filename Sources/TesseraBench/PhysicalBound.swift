import Foundation
import LoadGeneration

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What no request can beat on this machine: one durable append and one network round trip.
enum PhysicalBound {
    /// p50 in milliseconds of appending 4 KiB to a new file in `directory` and fdatasyncing it.
    static func appendAndSyncP50(directory: String, samples: Int) throws -> Double {
        percentileMilliseconds(try appendAndSyncLatencies(directory: directory, samples: samples), 0.5)
    }

    /// p50 in milliseconds of sending one byte over a loopback TCP connection and reading it back.
    static func loopbackRoundTripP50(samples: Int) throws -> Double {
        percentileMilliseconds(try loopbackRoundTripLatencies(samples: samples), 0.5)
    }

    /// Nanosecond latencies, sorted, of appending 4 KiB to a new file in `directory` and fdatasyncing it.
    static func appendAndSyncLatencies(directory: String, samples: Int) throws -> [UInt64] {
        let path = directory + "/.tessera-bench-fsync-\(getpid())"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BenchFailure("open \(path): \(errnoText(errno))") }
        defer {
            _ = close(descriptor)
            unlink(path)
        }
        let block = patternBytes(count: 4096, seed: 0x4B)
        var latencies: [UInt64] = []
        latencies.reserveCapacity(samples)
        for _ in 0..<samples {
            let start = monotonicNanoseconds()
            let written = block.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
            guard written == block.count else { throw BenchFailure("write \(path): \(errnoText(errno))") }
            guard fdatasync(descriptor) == 0 else { throw BenchFailure("fdatasync \(path): \(errnoText(errno))") }
            latencies.append(monotonicNanoseconds() - start)
        }
        return latencies.sorted()
    }

    /// Nanosecond latencies, sorted, of sending one byte over a loopback TCP connection and reading it back.
    static func loopbackRoundTripLatencies(samples: Int) throws -> [UInt64] {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BenchFailure("socket: \(errnoText(errno))") }
        defer { _ = close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(listener, address, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, address, &length) == 0
            }
        }
        guard bound else { throw BenchFailure("listen on 127.0.0.1: \(errnoText(errno))") }

        // The echo side, on its own thread: blocking reads and writes, as simple as it gets.
        let echo = Thread {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { _ = close(connection) }
            noDelay(connection)
            var byte: UInt8 = 0
            while recv(connection, &byte, 1, 0) == 1 {
                if send(connection, &byte, 1, 0) != 1 { break }
            }
        }
        echo.start()

        let connection = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard connection >= 0 else { throw BenchFailure("socket: \(errnoText(errno))") }
        defer { _ = close(connection) }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(connection, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw BenchFailure("connect to 127.0.0.1: \(errnoText(errno))") }
        noDelay(connection)
        var latencies: [UInt64] = []
        latencies.reserveCapacity(samples)
        var byte: UInt8 = 0x2A
        for index in 0..<(samples + 100) {
            let start = monotonicNanoseconds()
            guard send(connection, &byte, 1, 0) == 1, recv(connection, &byte, 1, 0) == 1 else {
                throw BenchFailure("loopback ping-pong: \(errnoText(errno))")
            }
            if index >= 100 { latencies.append(monotonicNanoseconds() - start) }  // the first 100 warm up
        }
        return latencies.sorted()
    }

    private static func noDelay(_ descriptor: Int32) {
        var one: Int32 = 1
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Nearest-rank percentile of sorted nanosecond latencies, in milliseconds.
    static func percentileMilliseconds(_ sorted: [UInt64], _ fraction: Double) -> Double {
        LoadRunResult.percentile(sorted, fraction) ?? 0
    }
}

extension PhysicalBound {
    /// Sequential direct (O_DIRECT, page cache bypassed) write bandwidth in MB/s
    /// of `megabytes` 1 MiB blocks to a new file in `directory`, and the tool
    /// that measured it: fio when installed, else dd.
    static func directWriteBandwidth(directory: String, megabytes: Int) throws -> (megabytesPerSecond: Double, tool: String) {
        let path = directory + "/.tessera-bench-direct-\(getpid())"
        defer { unlink(path) }
        if let fio = executableOnPath("fio") {
            let arguments = [
                "--name=sequential-direct-write", "--filename=\(path)", "--rw=write", "--bs=1M", "--size=\(megabytes)M",
                "--direct=1", "--ioengine=psync", "--end_fsync=1", "--output-format=json",
            ]
            guard let output = outputOf(fio, arguments), let start = output.firstIndex(of: "{"),
                let json = try? JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [String: Any],
                let jobs = json["jobs"] as? [[String: Any]], let write = jobs.first?["write"] as? [String: Any],
                let bytesPerSecond = (write["bw_bytes"] as? NSNumber)?.doubleValue, bytesPerSecond > 0
            else { throw BenchFailure("fio did not report a write bandwidth for \(path)") }
            return (bytesPerSecond / 1e6, "fio \(arguments.dropFirst(2).filter { !$0.hasPrefix("--output") }.joined(separator: " "))")
        }
        // dd prints "… bytes … copied, S s, R MB/s" on stderr; time it ourselves instead of parsing units.
        let arguments = ["if=/dev/zero", "of=\(path)", "bs=1M", "count=\(megabytes)", "oflag=direct", "conv=fdatasync"]
        let start = monotonicNanoseconds()
        guard let output = outputOf("/bin/dd", arguments), output.contains("copied") else {
            throw BenchFailure("dd could not write \(path)")
        }
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        return (Double(megabytes) * 1_048_576 / seconds / 1e6, "dd " + arguments.dropFirst(2).joined(separator: " "))
    }
}
