import ArgumentParser
import Cell
import Foundation
import Simulator

struct CellsBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cells",
        abstract: "Simulator speed, messages and fsyncs per command, and what idle cells cost.",
        discussion: """
            1. Runs simulator seeds (faults on, then off with more clients) and reports simulated
               seconds per wall second, and messages and fsyncs per committed entry.
            2. Builds --idle-cells idle replicas on one node (each has a leader and a committed
               entry, then no traffic) and reports resident memory per cell and how many of them
               ask to be ticked (the CPU an idle cell costs).

            Example:
              .build-release/release/tessera-bench cells
            """
    )

    @Option(help: "Idle cells to create on one node.")
    var idleCells = 100_000

    @Option(help: "Seeds to run for the simulator figures.")
    var seeds = 3

    func run() throws {
        warnIfDebugBuild()
        idleCellFigures()
        print("simulator (5 nodes, 4 cells × 3 replicas, 20 s of faults then 15 s healed):")
        for faults in [true, false] {
            var options = SimulationOptions()
            if !faults {
                options.faults = []
                options.clients = 24
            }
            var simulated = 0.0
            var wall = 0.0
            var total = SimulationReport()
            for seed in 1...UInt64(seeds) {
                options.seed = seed
                let start = ContinuousClock.now
                let report = Simulation(options: options).run()
                wall += (ContinuousClock.now - start).seconds
                simulated += report.simulatedSeconds
                total.messages += report.cellMessages
                total.fsyncs += report.fsyncs
                total.commits += report.commits
                total.events += report.events
                if !report.passed { print(report) }
            }
            let label = faults ? "all faults, 6 clients " : "no faults, 24 clients "
            print(String(format: "  %@: %.1f simulated s per wall s (%.0f events/s); per committed entry: %.2f replica messages, %.2f fsyncs (group commit across cells)",
                         label, simulated / wall, Double(total.events) / wall,
                         Double(total.messages) / Double(total.commits), Double(total.fsyncs) / Double(total.commits)))
        }
    }

    private func idleCellFigures() {
        let before = Self.heapBytesInUse()
        let leader = NodeID(1)
        let members = [NodeID(0), leader, NodeID(2)]
        var options = CellOptions()
        options.leaseDuration = .milliseconds(2_000)
        var replicas: [CellReplica] = []
        var machines: [CellStateMachine] = []
        replicas.reserveCapacity(idleCells)
        machines.reserveCapacity(idleCells)
        let start = ContinuousClock.now
        for cell in 0..<idleCells {
            let replica = CellReplica(me: NodeID(0), configuration: members, options: options, now: .zero, randomSeed: UInt64(cell))
            // One accept from the leader: the replica knows its leader and holds a committed no-op.
            let noop = LogEntry(index: 1, ballot: Ballot(1), payload: .noop)
            replica.step(.accept(ballot: Ballot(1), previousIndex: 0, previousBallot: .zero, entries: [noop], commitIndex: 1,
                                 sentAt: .zero), from: leader, now: .zero)
            var machine = CellStateMachine()
            replica.drainReadies(now: .zero, send: { _, _ in }, persist: { _ in },
                                 apply: { ready in for entry in ready.committed { _ = machine.apply(entry) } })
            replicas.append(replica)
            machines.append(machine)
        }
        let built = ContinuousClock.now - start
        let after = Self.heapBytesInUse()
        let ticking = replicas.filter { $0.nextDeadline != nil }.count
        let perCell = Double(after - before) / Double(idleCells)
        print("idle cells (\(idleCells) on one node, built in \(built)):")
        print(String(format: "  resident memory: %.1f MiB in all, %.0f bytes per cell (goal: 100,000 cells under 100 MiB)",
                     Double(after - before) / 1_048_576, perCell))
        print("  cells asking to be ticked while idle: \(ticking) of \(idleCells): an idle cell costs no CPU per tick;"
              + " leader liveness comes from node-pair heartbeats")
        withExtendedLifetime((replicas, machines)) {}
    }

    /// Resident bytes of this process (/proc/self/statm). Measured before the
    /// simulator runs, so that no memory freed earlier is reused and hidden.
    static func heapBytesInUse() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
