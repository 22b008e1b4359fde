import ArgumentParser
import Server

/// The page store's cache on each node (`serve`, passed on by `dev`).
struct CacheOptions: ParsableArguments {
    @Option(name: .customLong("cache-bytes"),
            help: "Bytes of decoded collections a node keeps in memory (e.g. 268435456, 256MiB, 1GiB). A node's data lives on disk; this bounds how much of it stays in RAM.")
    var cacheBytes = ByteCount(NodeConfiguration.cacheBytesDefault)

    func validate() throws {
        guard cacheBytes.bytes >= 1 << 20 else {
            throw ValidationError("--cache-bytes must be at least 1MiB, not \(cacheBytes)")
        }
    }

    /// The same setting as a `tessera serve` flag.
    var serveArguments: [String] { ["--cache-bytes", "\(cacheBytes.bytes)"] }
}

/// A byte count written as digits with an optional KiB, MiB or GiB suffix.
struct ByteCount: ExpressibleByArgument, CustomStringConvertible {
    let bytes: Int

    init(_ bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let units: [(suffix: String, shift: Int)] = [("GiB", 30), ("MiB", 20), ("KiB", 10), ("", 0)]
        for (suffix, shift) in units where argument.hasSuffix(suffix) {
            guard let value = Int(argument.dropLast(suffix.count)), value >= 0, value <= Int.max >> shift else { return nil }
            bytes = value << shift
            return
        }
        return nil
    }

    var description: String {
        if bytes >= 1 << 30, bytes % (1 << 30) == 0 { return "\(bytes >> 30)GiB" }
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        return "\(bytes)"
    }

    var defaultValueDescription: String { description }
}
