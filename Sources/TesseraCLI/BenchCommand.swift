import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Tessera on this machine (build with -c release first).",
        discussion: """
            Benchmarks print what they measured and the command that reproduces them.
            Run them from a release build; a debug build is many times slower:
              swift build -c release --scratch-path .build-release
              .build-release/release/tessera bench keyspace
              .build-release/release/tessera bench storage --quick
              .build-release/release/tessera bench cells
              .build-release/release/tessera bench cluster --quick  # with `tessera dev` up
              benchmarks/run --quick   # bench peers: etcd, Redis and SQLite beside Tessera
            """,
        subcommands: [KeyspaceBenchCommand.self, StorageBenchCommand.self, CellsBenchCommand.self, ClusterBenchCommand.self, PeersBenchCommand.self]
    )
}

/// Warns when the benchmark runs from a debug build, whose numbers mean little.
func warnIfDebugBuild() {
    #if DEBUG
        printToStandardError("warning: this is a debug build; benchmark figures are meaningful only from -c release")
    #endif
}
