import ArgumentParser
import Server
import CommandSupport
import Foundation
import Placement

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Start a local cluster on 127.0.0.1 (the embedded default).",
        discussion: """
            Starts --nodes node processes (`tessera serve`), each with its own folder
            under <data-dir>/dev and its own port from --base-port on, prints the
            endpoint, then `ready.` once every node listens. Ctrl-C stops them cleanly.
            Started again on the same --data-dir, the cluster finds its data. put, get,
            delete, query, cas and status use this cluster when given no --endpoint
            (run them from the folder that holds --data-dir).

              tessera dev                          # 3 nodes, data in ./.tessera/dev
              tessera put acme/users/rnd/alice hello
              tessera status
            """
    )

    @Option(help: "Nodes to start (a new cluster only; an existing one keeps its size).")
    var nodes = 3

    @Option(name: .customLong("data-dir"), help: "Folder for the cluster's data.")
    var dataDirectory = DevCluster.defaultDataDirectory

    @Option(name: .customLong("base-port"), help: "Port of the first node; the others follow it.")
    var basePort = DevCluster.defaultBasePort

    @Option(name: .customLong("cell-depth"), help: "Cells are pointer prefixes of this many bits (a new cluster: 12; an existing one keeps its own).")
    var cellDepth: Int?

    @Option(name: .customLong("log-level"), help: "Log level of the nodes (their logs are in <data-dir>/dev/NODE.log).")
    var logLevel = "info"

    @OptionGroup(title: "Admission control (passed to every node)")
    var accountRates: AccountRateOptions

    @OptionGroup(title: "Memory (passed to every node)")
    var cache: CacheOptions

    @Option(name: .customLong("extent-bytes"),
            help: "Staged payload bytes of one queue each node gathers into one extent: 1MiB to 32MiB (extents go to lnr in each node's folder).")
    var extentBytes = ByteCount(NodeConfiguration.extentTargetBytesDefault)

    @Flag(name: .customLong("insecure-plaintext"),
          help: "Links without TLS (by default the cluster makes a CA and certificates under <data-dir>/dev/credentials).")
    var insecurePlaintext = false

    func validate() throws {
        guard (1...9).contains(nodes) else { throw ValidationError("--nodes must be 1 to 9") }
        guard (1...65_000).contains(basePort) else { throw ValidationError("--base-port must be 1 to 65000") }
        guard (1 << 20...32 << 20).contains(extentBytes.bytes) else {
            throw ValidationError("--extent-bytes takes 1MiB to 32MiB, not \(extentBytes)")
        }
    }

    func run() async throws {
        // Every line is written at once (unbuffered), even into a pipe or file, so a
        // supervisor sees the endpoint and `ready.` as soon as they are printed.
        _ = try LogLevelOption.parse(logLevel)
        let cluster = DevCluster(dataDirectory: dataDirectory)
        let members: [Member]
        if let existing = try cluster.existingMembers() {
            members = existing
            if existing.count != nodes {
                printToStandardError("note: the cluster in \(cluster.folder) has \(existing.count) nodes; starting those (--nodes applies to a new cluster)")
            }
        } else {
            do {
                members = try cluster.create(nodes: nodes, basePort: basePort)
            } catch {
                throw commandFailure("cannot create \(cluster.folder): \(error.localizedDescription)", status: ExitStatus.ioError)
            }
        }
        let replicas = members.count >= 5 ? 5 : (members.count >= 3 ? 3 : 1)
        let depth = try cluster.cellDepth(requested: cellDepth)
        let supervisor = try NodeSupervisor(cluster: cluster, members: members, cellDepth: depth,
                                            replicas: replicas, logLevel: logLevel,
                                            serveArguments: accountRates.serveArguments + cache.serveArguments
                                                + ["--extent-bytes", "\(extentBytes.bytes)"],
                                            insecurePlaintext: insecurePlaintext)
        writeLine("Tessera dev cluster: \(members.count) nodes, \(replicas) replicas per cell, "
            + "\(supervisor.shards) event loop\(supervisor.shards == 1 ? "" : "s") per node, data in \(cluster.folder)")
        for member in members { writeLine("  \(member.id)  \(member.address)  log: \(cluster.logPath(member.id))") }
        writeLine("endpoint: \(members[0].address)")
        if insecurePlaintext {
            writeLine("links: plaintext (--insecure-plaintext)")
        } else {
            let client = cluster.credentials.files(for: DevCluster.clientIdentity)
            writeLine("links: TLS 1.3; CA and certificates in \(cluster.credentials.path) (the CLI here finds them;"
                + " elsewhere give --tls-ca \(client.certificateAuthority) --tls-cert \(client.certificate) --tls-key \(client.privateKey))")
        }
        try await supervisor.start()
        if await supervisor.waitUntilListening(timeout: .seconds(30)) {
            writeLine("ready. Try: tessera put acme/users/rnd/alice hello && tessera get acme/users/rnd/alice")
        } else {
            printToStandardError("warning: not every node is listening after 30 s; see the logs")
        }
        writeLine("Ctrl-C stops the cluster.")
        let status = await supervisor.runUntilSignalled()
        if status != 0 { throw ExitCode(status) }
    }
}
