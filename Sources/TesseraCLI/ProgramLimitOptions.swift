import ArgumentParser
import Machine

/// What each program invocation on a node may use (`serve`).
struct ProgramLimitOptions: ParsableArguments {
    @Option(help: "WebAssembly fuel per invocation (about one unit per executed operator; each host call costs \(MachineLimits.hostCallFuel)).")
    var programFuel: UInt64 = MachineLimits.defaults.fuel

    @Option(help: "Linear memory an invocation may have (e.g. 16MiB).")
    var programMemory = ByteCount(MachineLimits.defaults.memoryBytes)

    @Option(help: "Wall-clock seconds an invocation may run, checked at every host call.")
    var programDeadlineSeconds: Double = Double(MachineLimits.defaults.deadline.components.seconds)

    @Option(help: "Host calls an invocation may make.")
    var programHostCalls: Int = MachineLimits.defaults.hostCalls

    @Option(help: "Threads that run invocations (a host call blocks one until the cluster answers).")
    var invocationThreads: Int = 32

    func validate() throws {
        guard programFuel >= MachineLimits.hostCallFuel else { throw ValidationError("--program-fuel must be at least \(MachineLimits.hostCallFuel)") }
        guard programMemory.bytes >= 64 << 10 else { throw ValidationError("--program-memory must be at least one 64KiB page") }
        guard programDeadlineSeconds > 0 else { throw ValidationError("--program-deadline-seconds must be positive") }
        guard programHostCalls >= 1 else { throw ValidationError("--program-host-calls must be at least 1") }
        guard (1...4096).contains(invocationThreads) else { throw ValidationError("--invocation-threads must be 1 to 4096") }
    }

    var limits: MachineLimits {
        MachineLimits(fuel: programFuel, memoryBytes: programMemory.bytes,
                      deadline: .milliseconds(Int64(programDeadlineSeconds * 1000)), hostCalls: programHostCalls)
    }
}
