import Simulator
import Storage
import TestSupport
import Testing

/// The node pipeline (ready → WAL → apply into the page store → replies),
/// run by the simulator on `SimulatedDisk`, with node 0's disk failing at
/// every one of its data operations in turn, checkpoints included: the node
/// stops there, its unsynced writes are lost, kept, torn or partly kept, and
/// it restarts from what its store recovers. Every run must keep every
/// invariant, leave a linearizable history whose final reads (one per key,
/// from the leader) see every acknowledged write, and end with every
/// replica holding the leader's state.
///
/// One replica alone must keep every write it acknowledged; in a cell of
/// three, the crashed replica must also rejoin and catch up.
@Suite(.cpuBound)
struct NodeCrashPointTests {
    struct Topology: Sendable, CustomTestStringConvertible {
        var nodes: Int
        var testDescription: String { nodes == 1 ? "one replica" : "\(nodes) replicas" }
    }

    static let losses: [SimulatedDisk.CrashLoss] = [.loseAll, .keepAll, .tearLast(keepingBytes: 37), .subset(mask: 0x5555_5555_5555_5555)]

    static func options(_ topology: Topology, failure: SimulationOptions.DiskFailure?) -> SimulationOptions {
        var options = SimulationOptions()
        options.seed = 11
        options.nodes = topology.nodes
        options.cells = 1
        options.replicas = topology.nodes
        options.clients = 2
        options.operationsMaximum = 40
        options.checkpointWALBytes = 2_048
        options.faults = []
        options.faultPhase = .seconds(1)
        options.livenessBound = .seconds(4)
        options.diskFailure = failure
        return options
    }

    static func command(_ topology: Topology, _ failure: SimulationOptions.DiskFailure) -> String {
        "tessera simulate --seed 11 --nodes \(topology.nodes) --cells 1 --replicas \(topology.nodes) --clients 2 --operations 40"
            + " --checkpoint-bytes 2048 --faults none --seconds 1 --healed-seconds 4 --fail-disk \(failure)"
    }

    @Test(arguments: [Topology(nodes: 1), Topology(nodes: 3)], 0..<losses.count)
    func everyDiskOperationOfTheNodePipelineCanFail(topology: Topology, lossIndex: Int) throws {
        let clean = Simulation(options: Self.options(topology, failure: nil))
        let report = clean.run()
        try #require(report.passed, "the run without a failure fails:\n\(report)")
        let operations = clean.diskOperations(ofNode: 0)
        #expect(operations > 80, "node 0 did only \(operations) disk operations")
        #expect(report.historyOperations >= 30, "\(report)")
        #expect(report.checkpoints >= 2 * topology.nodes, "the crash points should cover checkpoints too:\n\(report)")

        let loss = Self.losses[lossIndex]
        var failures: [String] = []
        var crashed = 0
        for operation in 1...operations {
            let failure = SimulationOptions.DiskFailure(node: 0, operation: operation, loss: loss)
            let report = Simulation(options: Self.options(topology, failure: failure)).run()
            if report.crashes > 0 { crashed += 1 }
            if !report.passed || report.live != true {
                failures.append("\(Self.command(topology, failure))\n\(report)")
            }
        }
        print("node crash points, \(topology.testDescription), \(loss): \(operations) disk operations, \(failures.count) failed")
        #expect(crashed == operations, "\(operations - crashed) crash points were never reached")
        #expect(failures.isEmpty, "\(failures.count) of \(operations) crash points failed; reproduce with:\n\(failures.prefix(2).joined(separator: "\n"))")
    }

    @Test func aDiskFailureReadsBackFromItsText() {
        for loss in Self.losses {
            let failure = SimulationOptions.DiskFailure(node: 2, operation: 17, loss: loss)
            #expect(SimulationOptions.DiskFailure(failure.description) == failure)
        }
        for bad in ["", "0:0:lose-all", "a:1:keep-all", "0:1:tear-x", "0:1:melt", "0:1"] {
            #expect(SimulationOptions.DiskFailure(bad) == nil, "'\(bad)' parsed")
        }
    }
}
