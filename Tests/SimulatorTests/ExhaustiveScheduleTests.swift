import Cell
import Simulator
import TestSupport
import Testing

/// Every delivery order, loss and crash point of a small scenario, checked.
@Suite(.cpuBound)
struct ExhaustiveScheduleTests {
    @Test(arguments: [(commands: 1, depth: 8), (commands: 2, depth: 7)])
    func everyScheduleOfOneCellIsSafe(scenario: (commands: Int, depth: Int)) {
        var options = ScheduleExplorer.Options()
        options.commands = scenario.commands
        options.depthMaximum = scenario.depth
        var explorer = ScheduleExplorer(options: options)
        let result = explorer.explore()
        print("exhaustive, \(scenario.commands) command(s), depth \(scenario.depth): \(result)")
        #expect(result.violation == nil, "\(result)")
        #expect(result.statesExplored > 20_000)
        #expect(result.committedSchedules > 0)
    }

    /// The bugs whose shortest failing schedule fits in the depth the suite can afford.
    @Test(arguments: [PlantedBug.commitWithoutQuorum, .leaseReadAfterExpiry])
    func plantedBugsAreFound(bug: PlantedBug) {
        var options = ScheduleExplorer.Options()
        options.plantedBug = bug
        options.depthMaximum = 8
        var explorer = ScheduleExplorer(options: options)
        let result = explorer.explore()
        #expect(result.violation != nil, "\(bug) not found: \(result)")
    }
}
