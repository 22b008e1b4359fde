import ArgumentParser
import Cell
import CommandSupport
import Foundation
import Simulator

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the deterministic cluster simulator for one seed (or a range) and check it.",
        discussion: """
            Simulates nodes hosting replicated cells under network, disk, clock and crash
            faults, with clients doing puts, CAS, deletes and strong and eventual reads.
            After every event it checks that at most one replica of a cell holds a valid
            lease and that a committed slot never changes; after the faults heal it checks
            that every cell has a leader and that replicas agree; at the end the client
            history must be linearizable. The same seed always prints the same summary; a
            failing seed is a reproducible bug.

            Examples:
              tessera simulate --seed 42
              tessera simulate --seed 1 --seeds 200 --faults drop,partition,crash
              tessera simulate --seed 7 --plant-bug lease-read-after-expiry
            """
    )

    @Option(help: "The seed to run (the first of the range with --seeds).")
    var seed: UInt64 = 1

    @Option(help: "How many consecutive seeds to run.")
    var seeds: Int = 1

    @Option(help: "Simulated seconds of the fault phase (a healed phase follows).")
    var seconds: Int = 20

    @Option(help: "Cap on events processed, as if time ran out (0: no cap). Without it, a seed that needs more than 5,000,000 events fails as an event storm.")
    var steps: Int = 0

    @Option(help: "Simulated nodes.")
    var nodes: Int = 5

    @Option(help: "Cells, each replicated on --replicas of the nodes.")
    var cells: Int = 4

    @Option(help: "Replicas per cell (3 or 5).")
    var replicas: Int = 3

    @Option(help: "Faults to inject, comma-separated: \(SimulatedFault.allCases.map(\.rawValue).joined(separator: ",")), or none.")
    var faults: String = SimulatedFault.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Plant a known bug (testing the simulator): \(PlantedBug.allCases.map(\.kebabName).joined(separator: ", ")).")
    var plantBug: String?

    @Option(help: "Simulated seconds of the healed phase that follows the faults (liveness must return within it).")
    var healedSeconds: Int = 15

    @Option(help: "Simulated clients, one operation in flight each.")
    var clients: Int = 6

    @Option(help: "Stop the clients after this many operations in all (0: no cap).")
    var operations: Int = 0

    @Option(help: "A node's store checkpoints once its WAL grew by this many bytes (small, so that runs cross checkpoints).")
    var checkpointBytes: Int = SimulationOptions().checkpointWALBytes

    @Option(help: "With crash faults, one snapshot install in this many is followed at once by a power loss, so that the node finishes it at its restart (0: never).")
    var crashAfterInstall: Int = 8

    @Option(help: ArgumentHelp(
        "Fail a node's disk at one data operation: NODE:OPERATION:LOSS, the loss lose-all, keep-all, tear-BYTES or subset-HEXMASK (what the unsynced writes leave).",
        discussion: "The node stops there, as a real one does, and restarts. The node crash test prints this for a failing crash point.",
        valueName: "failure"))
    var failDisk: String?

    func validate() throws {
        guard nodes >= 1, nodes <= 64 else { throw ValidationError("--nodes must be 1...64") }
        guard replicas >= 1, replicas <= nodes else { throw ValidationError("--replicas must be 1...\(nodes) (the node count)") }
        guard cells >= 1, cells <= 100_000 else { throw ValidationError("--cells must be 1...100000") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard healedSeconds >= 1 else { throw ValidationError("--healed-seconds must be at least 1") }
        guard clients >= 1, clients <= 1_000 else { throw ValidationError("--clients must be 1...1000") }
        guard checkpointBytes >= 1 else { throw ValidationError("--checkpoint-bytes must be at least 1") }
        guard crashAfterInstall >= 0 else { throw ValidationError("--crash-after-install must be 0 (never) or more") }
        guard operations >= 0 else { throw ValidationError("--operations must be 0 (no cap) or more") }
        _ = try parsedFaults()
        _ = try parsedBug()
        if let failure = try parsedDiskFailure(), failure.node >= nodes {
            throw ValidationError("--fail-disk names node \(failure.node), but there are \(nodes) nodes (0...\(nodes - 1))")
        }
    }

    func parsedDiskFailure() throws -> SimulationOptions.DiskFailure? {
        guard let failDisk else { return nil }
        guard let failure = SimulationOptions.DiskFailure(failDisk) else {
            throw ValidationError("--fail-disk '\(failDisk)' is not NODE:OPERATION:LOSS (for example 0:17:tear-100; the loss lose-all, keep-all, tear-BYTES or subset-HEXMASK)")
        }
        return failure
    }

    func parsedFaults() throws -> Set<SimulatedFault> {
        if faults == "none" || faults.isEmpty { return [] }
        var result = Set<SimulatedFault>()
        for name in faults.split(separator: ",") {
            guard let fault = SimulatedFault(rawValue: String(name)) else {
                throw ValidationError("unknown fault '\(name)'; known: \(SimulatedFault.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            result.insert(fault)
        }
        return result
    }

    func parsedBug() throws -> PlantedBug? {
        guard let plantBug else { return nil }
        guard let bug = PlantedBug.allCases.first(where: { $0.kebabName == plantBug }) else {
            throw ValidationError("unknown bug '\(plantBug)'; known: \(PlantedBug.allCases.map(\.kebabName).joined(separator: ", "))")
        }
        return bug
    }

    func run() throws {
        var options = SimulationOptions()
        options.faultPhase = .seconds(seconds)
        options.livenessBound = .seconds(healedSeconds)
        options.clients = clients
        options.operationsMaximum = operations
        options.checkpointWALBytes = checkpointBytes
        options.crashAfterInstallOneIn = crashAfterInstall
        options.diskFailure = try parsedDiskFailure()
        options.nodes = nodes
        options.cells = cells
        options.replicas = replicas
        options.faults = try parsedFaults()
        options.plantedBug = try parsedBug()
        options.eventsMaximum = steps
        if steps > 0 { options.eventBudget = 0 }
        var failures: [UInt64] = []
        var lastProgress = ContinuousClock.now
        for offset in 0..<seeds {
            options.seed = seed + UInt64(offset)
            let report = Simulation(options: options).run()
            if seeds == 1 || !report.passed {
                writeLine("\(report)")  // unbuffered: a failing seed is seen at once, even through a pipe
            }
            if !report.passed { failures.append(options.seed) }
            // Long runs say how far they are, on standard error, every 10 s.
            if seeds > 1 && ContinuousClock.now - lastProgress >= .seconds(10) {
                lastProgress = ContinuousClock.now
                printToStandardError("simulated \(offset + 1) of \(seeds) seeds (up to seed \(options.seed)), \(failures.count) failed")
            }
        }
        if seeds > 1 {
            writeLine("\(seeds - failures.count) passed, \(failures.count) failed")
            if !failures.isEmpty {
                writeLine("failing seeds: \(failures.map(String.init).joined(separator: " ")); reproduce with: tessera simulate --seed N")
            }
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}

extension PlantedBug {
    /// `leaseReadAfterExpiry` → `lease-read-after-expiry`.
    var kebabName: String {
        rawValue.reduce(into: "") { name, character in
            if character.isUppercase { name += "-" + character.lowercased() } else { name.append(character) }
        }
    }
}
