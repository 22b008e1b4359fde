import ArgumentParser
import Crypto
import Foundation
import Keyspace
import Placement

struct KeyspaceBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyspace",
        abstract: "Pointers hashed per second, and time to place cells on 10, 1,000 and 100,000 members.",
        discussion: """
            Single-threaded. Topologies: 10 members in 3 zones, 1,000 in 10 zones, 100,000
            in 100 zones, all weight 1, 3 replicas per cell.

            Example:
              .build-release/release/tessera-bench keyspace --cells 65536
            """
    )

    @Option(help: "Cells to place in each placement run (2^depth of the cells used).")
    var cells: Int = 65_536

    @Option(help: "Keys to hash for the pointer benchmark.")
    var keys: Int = 1_000_000

    @Flag(help: "Skip the flat form on 100,000 members (it scores every member for every cell).")
    var skipSlowFlat = false

    func validate() throws {
        guard cells > 0, cells & (cells - 1) == 0, cells <= 1 << 24 else {
            throw ValidationError("--cells must be a power of two up to 16,777,216, got \(cells)")
        }
        guard keys > 0 else { throw ValidationError("--keys must be positive") }
    }

    func run() throws {
        warnIfDebugBuild()
        benchmarkPointers()
        let depth = cells.trailingZeroBitCount
        let cellIDs = CellID.all(depth: depth)
        print("placement: \(cells) cells (depth \(depth)), 3 replicas, one core")
        print("  members   zones  form          seconds   cells/s      µs/cell")
        for (memberCount, zoneCount) in [(10, 3), (1_000, 10), (100_000, 100)] {
            let list = try! MemberList(Self.members(count: memberCount, zones: zoneCount))
            for form in PlacementForm.allCases {
                if form == .flat && memberCount == 100_000 && skipSlowFlat { continue }
                let seconds = Self.time { _ = placeAll(cellIDs, form.placement(for: list)) }
                let figures = String(
                    format: "%8.3f  %10.0f  %9.2f", seconds, Double(cells) / seconds, seconds / Double(cells) * 1e6)
                let formName = form.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                print(String(format: "  %7d  %6d  ", memberCount, zoneCount) + formName + "  " + figures)
            }
        }
    }

    /// Key to pointer, against the bare SHA-512 of the same bytes (the floor).
    private func benchmarkPointers() {
        let keyObjects = (0..<keys).map { index in
            try! Key(account: "acme", resource: "users", type: .rnd, primaryKey: "user-\(index)")
        }
        let canonical = keyObjects.map(\.canonicalCollectionBytes)
        var checksum: UInt64 = 0
        let rawSeconds = Self.time {
            for bytes in canonical { checksum &+= SHA512.hash(data: bytes).withUnsafeBytes { UInt64($0[0]) } }
        }
        let seconds = Self.time {
            for key in keyObjects { checksum &+= key.pointer.leadingWord }
        }
        print(String(format: "pointers: %d keys: %.0f pointers/s (%.0f ns each); bare SHA-512 of the same bytes: %.0f/s; ratio %.2f  [checksum %llx]",
                     keys, Double(keys) / seconds, seconds / Double(keys) * 1e9, Double(keys) / rawSeconds,
                     rawSeconds / seconds, checksum))
    }

    private func placeAll(_ cells: [CellID], _ placement: any ReplicaPlacement) -> Int {
        var checksum = 0
        for cell in cells { checksum &+= placement.replicaIndices(of: cell, count: 3)[0] }
        return checksum
    }

    static func members(count: Int, zones: Int) -> [Member] {
        (0..<count).map { index in
            Member(id: "node-\(index)", address: "10.0.\(index / 250).\(index % 250):7000", zone: "zone-\(index % zones)")
        }
    }

    static func time(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
