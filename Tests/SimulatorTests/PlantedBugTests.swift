import Cell
import Simulator
import TestSupport
import Testing

/// The simulator has teeth: each planted bug is caught within a bounded number of seeds.
@Suite(.cpuBound)
struct PlantedBugTests {
    @Test(arguments: PlantedBug.allCases)
    func everyPlantedBugIsCaught(bug: PlantedBug) {
        var options = SimulationOptions()
        options.plantedBug = bug
        options.faultPhase = .seconds(3)
        options.livenessBound = .seconds(3)
        // Many cells mean many elections, where double promises matter.
        options.cells = 12
        options.clients = 6
        var caught: UInt64?
        for seed in UInt64(1)...30 {
            options.seed = seed
            let report = Simulation(options: options).run()
            if !report.passed {
                caught = seed
                break
            }
        }
        #expect(caught != nil, "\(bug) was not caught in 30 seeds")
    }
}
