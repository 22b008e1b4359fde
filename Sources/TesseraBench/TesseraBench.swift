import ArgumentParser
import CommandSupport

@main
struct TesseraBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera-bench",
        abstract: "Measure Tessera on this machine, alone and beside etcd, Redis and SQLite.",
        discussion: """
            The benchmark harness ships beside the database, as redis-benchmark beside
            redis-server: `tessera` holds the database, `tessera-bench` the load
            generators, the peers' drivers and SQLite. Benchmarks print what they measured
            and the command that reproduces it. Run them from a release build; a debug
            build is many times slower:
              swift build -c release --scratch-path .build-release
              .build-release/release/tessera-bench keyspace
              .build-release/release/tessera-bench storage --quick
              .build-release/release/tessera-bench cells
              .build-release/release/tessera-bench cluster --quick  # with `tessera dev` up
              benchmarks/run --quick   # peers: etcd, Redis and SQLite beside Tessera
            `peers` and `cluster` start or reach nodes of the `tessera` executable beside
            this one.
            """,
        subcommands: [KeyspaceBenchCommand.self, StorageBenchCommand.self, CellsBenchCommand.self, ClusterBenchCommand.self, PeersBenchCommand.self, RestartBenchCommand.self, WasmBenchCommand.self, QueueBenchCommand.self]
    )
}

/// Warns when the benchmark runs from a debug build, whose numbers mean little.
func warnIfDebugBuild() {
    #if DEBUG
        printToStandardError("warning: this is a debug build; benchmark figures are meaningful only from -c release")
    #endif
}
