// swift-tools-version: 6.1
// Tessera: a distributed, strongly consistent key-value and queue store.
// One target per layer (see ../shared/DESIGN.md §2); dependencies point down only.
import PackageDescription

let package = Package(
    name: "Tessera",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tessera", targets: ["TesseraCLI"]),
        .executable(name: "tessera-bench", targets: ["TesseraBench"]),
        .library(name: "Keyspace", targets: ["Keyspace"]),
        .library(name: "Placement", targets: ["Placement"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "TesseraClient", targets: ["Client"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/swiftwasm/WasmKit", from: "0.4.2"),
    ],
    targets: [
        // Keys, pointers and cells: pure values, no I/O.
        .target(
            name: "Keyspace",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // Rendezvous placement of cells on members: pure, no I/O.
        .target(name: "Placement", dependencies: ["Keyspace"]),
        // Linearizability checker for recorded client histories (Wing–Gong / Porcupine, per key).
        .target(name: "Linearizability"),
        // The rnd engine: WAL with group commit, 4 KiB page file, extendible-hash index, checkpoints.
        .target(name: "Storage", dependencies: ["Keyspace", "CCRC32C"]),
        // CRC-32C with the CPU's instruction (SSE 4.2, ARMv8 CRC); Storage falls back to software without it.
        .target(name: "CCRC32C"),
        // The system SQLite, for `tessera-bench` only: the `tessera` binary must not link it.
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Who may do what: the cluster CA, node and client certificates, TLS contexts, account grants and access keys.
        .target(
            name: "Credentials",
            dependencies: [
                "Keyspace",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // One replicated cell: Multi-Paxos log, leader lease, fencing, snapshots (sans-I/O).
        .target(name: "Cell", dependencies: ["Placement", "Storage"]),
        // A cell's life on a node: the ready loop (ready → WAL → apply into the page store), the
        // cell's state in the page store, its log records. The same code under SwiftNIO and the simulator.
        .target(name: "CellHost", dependencies: ["Cell", "Storage", "Keyspace", "Wire"]),
        // The deterministic simulator: seeded network, disks, clocks and clients around real cells and their ready loop.
        .target(name: "Simulator", dependencies: ["CellHost", "Cell", "Storage", "Keyspace", "Linearizability"]),
        // The node protocol: versioned, length-framed binary frames for peers and clients, and their NIO codec.
        .target(
            name: "Wire",
            dependencies: ["Cell", "Storage", "Keyspace", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // The Swift client: key → pointer → cell → replicas, cached leaders, redirects, retries, deadlines.
        .target(
            name: "Client",
            dependencies: [
                "Wire", "Cell", "Storage", "Keyspace", "Placement", "Credentials",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The VM: WebAssembly programs (WasmKit) with LOAD / COMPARE / WRITE / CAS on the global memory,
        // run on threads of their own under fuel, memory, host-call and wall-clock limits.
        .target(
            name: "Machine",
            dependencies: [
                "Client", "Keyspace",
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WAT", package: "WasmKit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The node process: shards of cells on SwiftNIO event loops, peer transport, client protocol.
        .target(
            name: "Server",
            dependencies: [
                "CellHost", "Client", "Credentials", "Machine", "Wire", "Cell", "Storage", "Keyspace", "Placement",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The benchmarks' load loop: clients with one request in flight, warm-up, repeats; the Tessera driver.
        .target(
            name: "LoadGeneration",
            dependencies: [
                "Client", "Keyspace", "Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // etcd's native protocol for the load loop: unary gRPC over HTTP/2 with the few protobuf messages it needs.
        .target(
            name: "EtcdDriver",
            dependencies: [
                "LoadGeneration",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Redis's RESP2 for the load loop.
        .target(
            name: "RedisDriver",
            dependencies: [
                "LoadGeneration",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The peers benchmark's results: statistics, goals, Markdown, SVG and JSON.
        .target(name: "BenchReports", dependencies: ["LoadGeneration"]),
        // What `tessera` and `tessera-bench` share: exit statuses, output, endpoints, the dev cluster and its supervisor.
        .target(
            name: "CommandSupport",
            dependencies: [
                "Client", "Credentials", "Placement",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The `tessera` command: the database (serve, dev) and its CLI. No benchmark harness, no SQLite.
        .executableTarget(
            name: "TesseraCLI",
            dependencies: [
                "Credentials", "Keyspace", "Placement", "Storage", "Cell", "Simulator", "Client", "Machine", "Server", "Wire", "CommandSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The `tessera-bench` command: keyspace, storage, cells, cluster and peers benchmarks.
        .executableTarget(
            name: "TesseraBench",
            dependencies: [
                "Keyspace", "Placement", "Storage", "Cell", "Simulator", "Client", "Credentials", "Machine", "Wire", "CommandSupport", "CSQLite",
                "LoadGeneration", "EtcdDriver", "RedisDriver", "BenchReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // A test helper, not a product: writes to a store until SIGKILLed, printing each acknowledged
        // write (CLITests' crash test). SwiftPM builds it beside the test bundle.
        .executableTarget(name: "CrashWriter", dependencies: ["Storage", "Keyspace"], path: "Sources/CrashWriter"),
        // Helpers shared by the test targets only (seeded randomness, temporary folders).
        .target(name: "TestSupport", dependencies: ["Cell"]),
        .testTarget(name: "KeyspaceTests", dependencies: ["Keyspace", "TestSupport"], resources: [.copy("Vectors")]),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "Cell", "Storage", "TestSupport"]),
        .testTarget(name: "CellTests", dependencies: ["Cell", "Storage", "TestSupport"]),
        .testTarget(name: "CredentialsTests", dependencies: ["Credentials", .product(name: "X509", package: "swift-certificates")]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement", "TestSupport"], resources: [.copy("Vectors")]),
        .testTarget(name: "LinearizabilityTests", dependencies: ["Linearizability", "TestSupport"]),
        .testTarget(
            name: "ClientTests",
            dependencies: [
                "Client", "Credentials", "Wire", "Keyspace", "Placement", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "CellHost", "Cell", "Credentials", "Keyspace", "Storage", "Placement", "Wire",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "CLITests", dependencies: ["Storage", "Keyspace", "Credentials", "TestSupport"]),
        .testTarget(name: "ClusterTests", dependencies: [
            "Client", "Credentials", "Keyspace", "Wire", "Linearizability", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(
            name: "LoadGenerationTests",
            dependencies: [
                "LoadGeneration", "EtcdDriver", "RedisDriver", "BenchReports", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(name: "MachineTests", dependencies: ["Machine", "Keyspace", "Linearizability", "TestSupport"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Cell", "Storage", "TestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")]),
    ]
)
