import ArgumentParser
import Cell
import Foundation
import Simulator

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Exhaustively explore every schedule of one small cell and check each state.",
        discussion: """
            One cell of three replicas and one or two commands: every order of message
            delivery, every loss (up to --drops), every crash point (up to --crashes) and
            every timer firing, up to --depth actions; each distinct state is visited once
            and checked (a committed slot never changes, one leader per ballot, at most
            one valid lease).

            Example:
              tessera explore --commands 1 --depth 12
            """
    )

    @Option(help: "Commands to propose.") var commands = 1
    @Option(help: "Longest schedule, in actions.") var depth = 12
    @Option(help: "Messages lost per schedule at most.") var drops = 2
    @Option(help: "Crashes per schedule at most.") var crashes = 1
    @Option(help: "Plant a known bug: \(PlantedBug.allCases.map(\.kebabName).joined(separator: ", ")).") var plantBug: String?

    func run() throws {
        var options = ScheduleExplorer.Options()
        options.commands = commands
        options.depthMaximum = depth
        options.dropsMaximum = drops
        options.crashesMaximum = crashes
        if let plantBug {
            guard let bug = PlantedBug.allCases.first(where: { $0.kebabName == plantBug }) else {
                throw ValidationError("unknown bug '\(plantBug)'")
            }
            options.plantedBug = bug
        }
        let start = ContinuousClock.now
        var explorer = ScheduleExplorer(options: options)
        let result = explorer.explore()
        print("\(result) in \(ContinuousClock.now - start)")
        if result.violation != nil { throw ExitCode(1) }
    }
}
