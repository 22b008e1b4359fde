import LoadGeneration

/// The runs of one section, in the order they happen: repeat by repeat, and
/// inside a repeat every system in turn for each operation and client count,
/// the order of the systems rotating each repeat (A B, B A, …) so that drift
/// of the machine and "who goes first" hit every system alike.
struct PeersBenchPlan {
    struct Step {
        var repeatIndex: Int
        var operation: LoadOperation
        var clients: Int
        var system: String
    }

    let steps: [Step]

    init(repeats: Int, operations: [LoadOperation], clients: [Int], systems: [String]) {
        var steps: [Step] = []
        for repeatIndex in 0..<repeats {
            let rotation = systems.isEmpty ? 0 : repeatIndex % systems.count
            let order = Array(systems[rotation...] + systems[..<rotation])
            for operation in operations {
                for count in clients {
                    for system in order {
                        steps.append(Step(repeatIndex: repeatIndex, operation: operation, clients: count, system: system))
                    }
                }
            }
        }
        self.steps = steps
    }
}

/// Time left, from the runs done so far: the average time per run times the
/// runs to go (the planned time per run until one finished).
struct PeersBenchClock {
    let totalRuns: Int
    let plannedSecondsPerRun: Double
    private(set) var runsDone = 0
    private(set) var secondsInRuns = 0.0

    init(totalRuns: Int, plannedSecondsPerRun: Double) {
        self.totalRuns = totalRuns
        self.plannedSecondsPerRun = plannedSecondsPerRun
    }

    mutating func finished(runTaking seconds: Double) {
        runsDone += 1
        secondsInRuns += seconds
    }

    var secondsLeft: Double {
        let perRun = runsDone == 0 ? plannedSecondsPerRun : secondsInRuns / Double(runsDone)
        return perRun * Double(max(totalRuns - runsDone, 0))
    }

    static func describe(seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        return whole >= 60 ? "\(whole / 60) min \(whole % 60) s" : "\(whole) s"
    }
}
