import Cell
import Foundation
import LoadGeneration

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Measurement helpers of `tessera-bench storage`: the clock, latency summaries,
// the raw append + fdatasync loop, threads with a common start, and the machine.

/// A failure of the benchmark itself (not of a measured system's speed).
struct BenchFailure: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}

func nanoseconds(seconds: Double) -> UInt64 { UInt64(max(seconds, 0) * 1e9) }

/// What one case measured: operations over wall time, and latencies when taken per operation.
struct Measurement: Codable, Sendable {
    var operations: Int
    var seconds: Double
    var perSecond: Double
    var p50Microseconds: Double?
    var p99Microseconds: Double?
    var maxMicroseconds: Double?
    /// Counters of the case: checkpoints taken, busy retries, misses, …
    var details: [String: Double] = [:]

    init(operations: Int, nanoseconds elapsed: UInt64, latencies: [UInt64]? = nil) {
        self.operations = operations
        seconds = Double(elapsed) / 1e9
        perSecond = seconds > 0 ? Double(operations) / seconds : 0
        if var sorted = latencies, !sorted.isEmpty {
            sorted.sort()
            func percentile(_ fraction: Double) -> Double {
                // Nearest rank.
                let rank = Int((Double(sorted.count) * fraction).rounded(.up))
                return Double(sorted[min(max(rank, 1), sorted.count) - 1]) / 1e3
            }
            p50Microseconds = percentile(0.50)
            p99Microseconds = percentile(0.99)
            maxMicroseconds = Double(sorted[sorted.count - 1]) / 1e3
        }
    }
}

/// Raw results of one timed stretch; stretches of one case (its rounds) add up.
struct Sample: Sendable {
    var operations = 0
    var nanoseconds: UInt64 = 0
    var latencies: [UInt64] = []
    var details: [String: Double] = [:]

    mutating func add(_ other: Sample) {
        operations += other.operations
        nanoseconds += other.nanoseconds
        latencies += other.latencies
        details.merge(other.details, uniquingKeysWith: +)
    }

    var measurement: Measurement {
        var measurement = Measurement(operations: operations, nanoseconds: nanoseconds, latencies: latencies.isEmpty ? nil : latencies)
        measurement.details = details
        if let cpu = details["cpuSeconds"], operations > 0 {
            measurement.details["cpuMicrosecondsPerOperation"] = cpu * 1e6 / Double(operations)
        }
        return measurement
    }
}

/// User + system CPU seconds of this process so far (all its threads).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Runs `body` and adds the process's CPU seconds it took to the sample's `cpuSeconds`.
func measuringCPU<T>(_ body: () async throws -> (Sample, T)) async rethrows -> (Sample, T) {
    let before = processCPUSeconds()
    var (sample, other) = try await body()
    sample.details["cpuSeconds", default: 0] += processCPUSeconds() - before
    return (sample, other)
}

/// Deterministic filler bytes (not compressible, the same in every run).
func patternBytes(count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
}

func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

// MARK: - The raw limit

enum RawDisk {
    /// Appends `blockBytes` at the end of a fresh file and fdatasyncs, one block at
    /// a time, for `seconds`: what one synchronous writer can get from this disk.
    ///
    /// With `ringBytes`, the file is first written and synced to that size (untimed)
    /// and the blocks then overwrite it in a ring: no size change, so fdatasync need
    /// not commit file metadata (the way SQLite reuses its WAL file).
    static func appendAndSync(path: String, blockBytes: Int, seconds: Double, ringBytes: Int? = nil) throws -> Sample {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BenchFailure("open \(path): \(errnoText(errno))") }
        defer {
            _ = Glibc.close(descriptor)
            unlink(path)
        }
        let block = patternBytes(count: blockBytes, seed: 0x7E55)
        if let ringBytes {
            let chunk = [UInt8](repeating: 0, count: 1 << 20)
            var written = 0
            while written < ringBytes {
                let count = chunk.withUnsafeBytes { pwrite(descriptor, $0.baseAddress!, min($0.count, ringBytes - written), off_t(written)) }
                if count <= 0 { throw BenchFailure("pwrite \(path): \(errnoText(errno))") }
                written += count
            }
            if fsync(descriptor) != 0 { throw BenchFailure("fsync \(path): \(errnoText(errno))") }
        }
        let wrap = ringBytes.map { max($0 / blockBytes, 1) * blockBytes } ?? Int.max
        var latencies: [UInt64] = []
        latencies.reserveCapacity(16_384)
        var offset = 0
        let start = monotonicNanoseconds()
        let deadline = start + nanoseconds(seconds: seconds)
        var now = start
        repeat {
            let before = now
            try block.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let written = pwrite(descriptor, raw.baseAddress! + done, raw.count - done, off_t(offset + done))
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw BenchFailure("pwrite \(path): \(errnoText(errno))")
                    }
                    done += written
                }
            }
            if fdatasync(descriptor) != 0 { throw BenchFailure("fdatasync \(path): \(errnoText(errno))") }
            offset += blockBytes
            if offset >= wrap { offset = 0 }
            now = monotonicNanoseconds()
            latencies.append(now - before)
        } while now < deadline
        return Sample(operations: latencies.count, nanoseconds: now - start, latencies: latencies)
    }

    /// Bytes allocated on disk (st_blocks × 512) to the files at `paths`; a folder counts its files.
    static func allocatedBytes(_ paths: [String]) -> Int {
        var total = 0
        for path in paths {
            var status = stat()
            guard stat(path, &status) == 0 else { continue }
            if (status.st_mode & S_IFMT) == S_IFDIR {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                total += allocatedBytes(names.map { path + "/" + $0 })
            } else {
                total += Int(status.st_blocks) * 512
            }
        }
        return total
    }

    /// Drops the folder's files from the OS page cache (they must be closed and synced):
    /// reads afterwards come from the device. Returns how many files it evicted.
    @discardableResult
    static func evictFromPageCache(directory: String) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var evicted = 0
        for name in names {
            let descriptor = open(directory + "/" + name, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            _ = fdatasync(descriptor)
            if posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED) == 0 { evicted += 1 }
            _ = Glibc.close(descriptor)
        }
        return evicted
    }
}

// MARK: - Threads (SQLite's calls block, so its writers are threads, not tasks)

/// Releases every thread at once, after all have arrived (e.g. opened their connection).
final class StartBarrier: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: Int
    private let duration: UInt64
    private var startTime: UInt64 = 0
    private var deadlineTime: UInt64 = 0

    init(parties: Int, seconds: Double) {
        waiting = parties
        duration = nanoseconds(seconds: seconds)
    }

    /// Blocks until every party arrived; returns the common deadline.
    func arriveAndWait() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        waiting -= 1
        if waiting == 0 {
            startTime = monotonicNanoseconds()
            deadlineTime = startTime + duration
            condition.broadcast()
        } else {
            while waiting > 0 { condition.wait() }
        }
        return deadlineTime
    }

    var start: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return startTime
    }
}

private final class ThreadResults<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [T?]
    private var remaining: Int
    private let completion: @Sendable ([T]) -> Void

    init(count: Int, completion: @escaping @Sendable ([T]) -> Void) {
        results = Array(repeating: nil, count: count)
        remaining = count
        self.completion = completion
    }

    func store(_ index: Int, _ result: T) {
        lock.lock()
        results[index] = result
        remaining -= 1
        let finished = remaining == 0 ? results.map { $0! } : nil
        lock.unlock()
        if let finished { completion(finished) }
    }
}

/// Runs `body(0..<count)` on `count` new threads and returns their results in order.
func runOnThreads<T: Sendable>(count: Int, _ body: @escaping @Sendable (Int) -> T) async -> [T] {
    await withCheckedContinuation { (continuation: CheckedContinuation<[T], Never>) in
        let results = ThreadResults<T>(count: count) { continuation.resume(returning: $0) }
        for index in 0..<count {
            let thread = Thread { results.store(index, body(index)) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}

// MARK: - The machine

struct MachineInfo: Codable, Sendable {
    var cores: Int
    var cpu: String
    var kernel: String
    var directory: String
    var filesystem: String
    var device: String
    var sqliteVersion: String
    var build: String
    /// 1-minute load averages when the run started and ended.
    var loadAverageAtStart: Double?
    var loadAverageAtEnd: Double?

    /// The 1-minute load average: how busy the machine is with other work (before a run).
    static func loadAverage() -> Double? {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    static func describe(directory: String, sqliteVersion: String) -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        let kernel = ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "unknown")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let (filesystem, device) = mountOf(directory)
        #if DEBUG
            let build = "debug"
        #else
            let build = "release"
        #endif
        return MachineInfo(
            cores: ProcessInfo.processInfo.activeProcessorCount, cpu: cpu, kernel: "Linux " + kernel,
            directory: directory, filesystem: filesystem, device: device, sqliteVersion: sqliteVersion, build: build,
            loadAverageAtStart: loadAverage())
    }

    /// The filesystem type and device of the mount holding `path` (from /proc/self/mountinfo).
    private static func mountOf(_ path: String) -> (String, String) {
        guard let resolved = realpath(path, nil) else { return ("unknown", "unknown") }
        let real = String(cString: resolved)
        free(resolved)
        let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        var best: (length: Int, type: String, device: String) = (-1, "unknown", "unknown")
        for line in mountinfo.split(separator: "\n") {
            // id parent major:minor root mountpoint options [optional…] - type source superoptions
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 2 else { continue }
            let mountPoint = String(left[4])
            let matches = mountPoint == "/" || real == mountPoint || real.hasPrefix(mountPoint + "/")
            if matches && mountPoint.count > best.length {
                best = (mountPoint.count, String(right[0]), String(right[1]))
            }
        }
        return (best.type, best.device)
    }
}
