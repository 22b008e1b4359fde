import Foundation
import Storage
import TestSupport
import Testing

/// A `tessera dev` cluster in a temporary folder on free loopback ports, as a child process.
final class DevClusterProcess {
    let executable: URL
    let dataDirectory: String
    let basePort: Int
    let process: BackgroundProcess
    var endpoint: String { "127.0.0.1:\(basePort)" }

    private init(executable: URL, dataDirectory: String, basePort: Int, process: BackgroundProcess) {
        self.executable = executable
        self.dataDirectory = dataDirectory
        self.basePort = basePort
        self.process = process
    }

    /// Starts `tessera dev` and waits until it prints `ready.`; stops it again if it does not.
    static func start(executable: URL, dataDirectory: String, basePort: Int, logURL: URL) async throws -> DevClusterProcess {
        let process = try BackgroundProcess(
            executable,
            ["dev", "--nodes", "3", "--base-port", "\(basePort)", "--data-dir", dataDirectory, "--cell-depth", "6"],
            logURL: logURL)
        guard await process.waitForOutput("ready.", timeout: .seconds(60)) else {
            await process.stop()
            throw NotReady(output: process.output, logs: DevClusterProcess.nodeLogs(dataDirectory))
        }
        return DevClusterProcess(executable: executable, dataDirectory: dataDirectory, basePort: basePort, process: process)
    }

    struct NotReady: Error, CustomStringConvertible {
        let output: String
        let logs: String
        var description: String { "tessera dev did not print ready. within 60 s:\n\(output)\n\(logs)" }
    }

    /// The tail of every node's log, for failure messages.
    static func nodeLogs(_ dataDirectory: String) -> String {
        (1...3).map { index in
            let path = "\(dataDirectory)/dev/node-\(index).log"
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return "--- node-\(index).log\n" + text.split(separator: "\n").suffix(15).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// `tessera <arguments> --endpoint <this cluster>`, with the dev cluster's client credential.
    func callAsFunction(_ arguments: String..., input: Data? = nil) async throws -> Finished {
        try await runExecutable(executable, arguments + ["--endpoint", endpoint] + tlsArguments, standardInput: input)
    }

    /// The flags that give a command the dev cluster's client credential.
    var tlsArguments: [String] {
        let credentials = dataDirectory + "/dev/credentials"
        return ["--tls-ca", credentials + "/ca.pem", "--tls-cert", credentials + "/client-dev.pem",
                "--tls-key", credentials + "/client-dev-key.pem"]
    }

    func stop() { process.stop() }

    func stopAndWait() async { await process.stop() }
}

@Suite(.serialized) struct ClusterCLITests {
    /// The data commands, `cas` and `status` against a real 3-node `tessera dev`, which
    /// then stops on SIGINT and, started again on the same folder, still has the data.
    @Test(.timeLimit(.minutes(3))) func devClusterRoundTrip() async throws {
        let executable = try BuiltExecutable.url("tessera")
        let folder = try TemporaryFolder("dev")
        defer { folder.remove() }
        let dataDirectory = folder.path + "/data"
        let basePort = try LoopbackPorts.freeRange(count: 3)
        var cluster = try await DevClusterProcess.start(
            executable: executable, dataDirectory: dataDirectory, basePort: basePort,
            logURL: folder.url.appendingPathComponent("dev-1.out"))
        defer { cluster.stop() }
        let logs = { DevClusterProcess.nodeLogs(dataDirectory) }

        // put / get, text and JSON.
        let key = "acme/users/rnd/alice/v1"
        let put = try await cluster("put", key, "hello")
        #expect(put.status == 0, "\(put.errorOutput)\n\(logs())")
        #expect(put.output.hasPrefix("version "), "\(put.output)")
        let got = try await cluster("get", key)
        #expect(got.status == 0 && got.output == "hello", "\(got.errorOutput)")
        let json = try JSONSerialization.jsonObject(with: try await cluster("get", key, "--json").standardOutput) as? [String: Any]
        #expect(json?["value"] as? String == "hello")
        #expect(json?["sortKey"] as? String == "v1")

        // An eventual read may lag behind the write, never by long.
        var eventual = try await cluster("get", key, "--consistency", "eventual")
        for _ in 0..<20 where eventual.status != 0 {
            try await Task.sleep(for: .milliseconds(250))
            eventual = try await cluster("get", key, "--consistency", "eventual")
        }
        #expect(eventual.status == 0 && eventual.output == "hello", "\(eventual.errorOutput)")

        // Not found, bad key, failed conditions.
        let missing = try await cluster("get", "acme/users/rnd/nobody")
        #expect(missing.status == 1)
        #expect(missing.errorOutput == "error: not found: acme/users/rnd/nobody\n")
        let badKey = try await cluster("put", "Acme/users/rnd/alice", "x")
        #expect(badKey.status == 64)
        #expect(badKey.errorOutput.contains("account"))
        #expect(try await cluster("put", key, "again", "--if-absent").status == 2)

        // Compare-and-swap.
        let wrong = try await cluster("cas", key, "bye", "--expected", "nope")
        #expect(wrong.status == 2)
        #expect(wrong.errorOutput.contains("compare-and-swap failed"), "\(wrong.errorOutput)")
        #expect(wrong.errorOutput.contains("current version"), "\(wrong.errorOutput)")
        let swapped = try await cluster("cas", key, "bye", "--expected", "hello")
        #expect(swapped.status == 0, "\(swapped.errorOutput)")
        #expect(try await cluster("get", key).output == "bye")
        let exists = try await cluster("cas", key, "x", "--expect-absent", "--json")
        #expect(exists.status == 2)
        #expect((try? JSONSerialization.jsonObject(with: exists.standardOutput) as? [String: Any])?["conditionFailed"] as? Bool == true)
        #expect(try await cluster("cas", "acme/users/rnd/alice/v2", "new", "--expect-absent").status == 0)
        #expect(try await cluster("cas", "acme/users/rnd/alice/v3", "x", "--expected", "y").status == 2)

        // Query the collection, then delete.
        let listed = try await cluster("query", "acme/users/rnd/alice")
        #expect(listed.status == 0, "\(listed.errorOutput)")
        let lines = listed.output.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(lines.map { $0.first ?? "" } == ["v1", "v2"])
        #expect(lines.first?.last == "bye")
        let firstPage = try await cluster("query", "acme/users/rnd/alice", "--limit", "1")
        #expect(firstPage.output.hasPrefix("v1\t"), "\(firstPage.output)")
        let next = try #require(firstPage.errorOutput.split(separator: "\n").last.map(String.init), "no next: token")
        #expect(next.hasPrefix("next: "), "\(firstPage.errorOutput)")
        let secondPage = try await cluster("query", "acme/users/rnd/alice", "--json", "--after", String(next.dropFirst("next: ".count)))
        let page = try JSONSerialization.jsonObject(with: secondPage.standardOutput) as? [String: Any]
        #expect((page?["items"] as? [[String: Any]])?.compactMap { $0["sortKey"] as? String } == ["v2"], "\(secondPage.output)")
        #expect(page?["continuation"] is NSNull)
        let deleted = try await cluster("delete", "acme/users/rnd/alice/v2")
        #expect(deleted.status == 0 && deleted.output.hasPrefix("version "), "\(deleted.errorOutput)")
        #expect(try await cluster("get", "acme/users/rnd/alice/v2").status == 1)

        // Status: three members, all up.
        let status = try await cluster("status", "--json")
        #expect(status.status == 0, "\(status.errorOutput)\n\(status.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: status.standardOutput) as? [String: Any], "\(status.output)")
        let members = try #require(report["members"] as? [[String: Any]])
        #expect(members.count == 3)
        #expect(members.allSatisfy { $0["up"] as? Bool == true }, "\(status.output)")
        #expect(Set(members.compactMap { $0["address"] as? String })
            == Set((0..<3).map { "127.0.0.1:\(basePort + $0)" }))

        // Ctrl-C stops every node, and the supervisor exits 0.
        cluster.process.signal(SIGINT)
        let exit = await cluster.process.waitForExit(timeout: .seconds(30))
        #expect(exit == 0, "tessera dev exited with \(String(describing: exit)):\n\(cluster.process.output)\n\(logs())")
        await cluster.stopAndWait()

        // Started again on the same folder, the cluster has the data.
        cluster = try await DevClusterProcess.start(
            executable: executable, dataDirectory: dataDirectory, basePort: basePort,
            logURL: folder.url.appendingPathComponent("dev-2.out"))
        let again = try await cluster("get", key)
        #expect(again.status == 0 && again.output == "bye", "\(again.errorOutput)\n\(logs())")
        await cluster.stopAndWait()
    }

    /// A node folder still locked by a process of an earlier run (here: this test's own
    /// open store) is waited for, with a line saying so, instead of a node exiting 74.
    @Test(.timeLimit(.minutes(3))) func devWaitsForADataDirectoryStillLocked() async throws {
        let executable = try BuiltExecutable.url("tessera")
        let folder = try TemporaryFolder("dev-lock")
        defer { folder.remove() }
        let dataDirectory = folder.path + "/data"
        let lockedNode = dataDirectory + "/dev/node-2"
        try FileManager.default.createDirectory(atPath: lockedNode, withIntermediateDirectories: true)
        let holder = try Store(path: lockedNode)
        let basePort = try LoopbackPorts.freeRange(count: 3)
        let process = try BackgroundProcess(
            executable, ["dev", "--nodes", "3", "--base-port", "\(basePort)", "--data-dir", dataDirectory, "--cell-depth", "4"],
            logURL: folder.url.appendingPathComponent("dev.out"))
        defer { process.stop() }
        #expect(await process.waitForOutput("waiting for \(lockedNode)", timeout: .seconds(60)), "\(process.output)")
        #expect(!process.output.contains("ready."), "started while a node folder was locked:\n\(process.output)")
        try holder.close()
        #expect(await process.waitForOutput("ready.", timeout: .seconds(60)), "\(process.output)\n\(DevClusterProcess.nodeLogs(dataDirectory))")
        await process.stop()
        #expect(!process.output.contains("exited with status"), "\(process.output)")
    }

    @Test func statusWithoutANodeFailsClearly() async throws {
        let executable = try BuiltExecutable.url("tessera")
        let port = try LoopbackPorts.closed()
        let started = ContinuousClock.now
        let status = try await runExecutable(executable, ["status", "--endpoint", "127.0.0.1:\(port)"])
        #expect(status.status == 69)
        #expect(status.errorOutput.contains("no Tessera node at 127.0.0.1:\(port)"), "\(status.errorOutput)")
        #expect(status.output.isEmpty)
        #expect(ContinuousClock.now - started < .seconds(5), "a refused connection should fail at once")

        let json = try await runExecutable(executable, ["status", "--json", "--endpoint", "127.0.0.1:\(port),127.0.0.1:\(port)"])
        #expect(json.status == 69)
    }

    /// Without --data-dir the data commands go to the default cluster; with none running they say how to start one.
    @Test func defaultEndpointWithoutACluster() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let port = try LoopbackPorts.closed()
        // The default endpoints come from ./.tessera/dev/members.json when a dev cluster was made here.
        let dev = tessera.folder.path + "/.tessera/dev"
        try FileManager.default.createDirectory(atPath: dev, withIntermediateDirectories: true)
        try Data("[{\"id\": \"node-1\", \"address\": \"127.0.0.1:\(port)\", \"zone\": \"zone-1\", \"weight\": 1}]".utf8)
            .write(to: URL(fileURLWithPath: dev + "/members.json"))
        let refused = "error: no Tessera node at 127.0.0.1:\(port): start one with `tessera dev`"
        let notSent = "; the write was not sent, so it was not applied"
        let cases: [([String], String)] = [
            (["put", "acme/users/rnd/gina", "hi"], refused + notSent),
            (["delete", "acme/users/rnd/gina"], refused + notSent),
            (["cas", "acme/users/rnd/gina", "x", "--expect-absent"], refused + notSent),
            (["get", "acme/users/rnd/gina"], refused),
            (["status"], refused),
        ]
        for (arguments, message) in cases {
            let finished = try await tessera.bare(arguments, in: tessera.folder.url)
            #expect(finished.status == 69, "\(arguments): \(finished.errorOutput)")
            #expect(finished.errorOutput == message + "\n")
        }
        #expect(!FileManager.default.fileExists(atPath: tessera.folder.path + "/.tessera/local"))
    }

    @Test func localAndClusterOptionsExcludeEachOther() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let both = try await tessera("put", "acme/users/rnd/gina", "hi", "--endpoint", "127.0.0.1:1")
        #expect(both.status == 64)
        #expect(both.errorOutput.contains("exclude each other"))
        _ = try tessera.version(try await tessera("put", "acme/users/rnd/gina", "hi"))
        let consistency = try await tessera("get", "acme/users/rnd/gina", "--consistency", "eventual")
        #expect(consistency.status == 64)
        #expect(consistency.errorOutput.contains("--consistency"))
        #expect(try await tessera("query", "acme/users/rnd/gina", "--consistency", "strong").status == 64)
        #expect(try await tessera("get", "acme/users/rnd/gina", "--consistency", "sometimes").status == 64)
    }

    @Test func compareAndSwapOnTheLocalStore() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let key = "acme/accounts/rnd/carol"
        let created = try tessera.version(try await tessera("cas", key, "100", "--expect-absent"))
        let again = try await tessera("cas", key, "100", "--expect-absent")
        #expect(again.status == 2)
        #expect(again.errorOutput == "error: compare-and-swap failed: \(key) already exists (current version \(created))\n")
        let wrong = try await tessera("cas", key, "200", "--expected", "150", "--json")
        #expect(wrong.status == 2)
        #expect(try tessera.json(wrong)["currentVersion"] as? Int == Int(created))
        #expect(wrong.errorOutput.contains("is not \"150\" (current version \(created))"))
        #expect(try tessera.version(try await tessera("cas", key, "200", "--expected", "100")) > created)
        #expect(try await tessera("get", key).output == "200")
        let absent = try await tessera("cas", "acme/accounts/rnd/nobody", "1", "--expected", "0")
        #expect(absent.status == 2)
        #expect(absent.errorOutput.contains("does not exist"))
        #expect(try await tessera("cas", key, "1").status == 64)  // neither --expected nor --expect-absent
        #expect(try await tessera("cas", key, "1", "--expected", "200", "--expect-absent").status == 64)
    }

    @Test func newCommandsHaveHelpWithAnExample() async throws {
        let executable = try BuiltExecutable.url("tessera")
        for command in [["status"], ["cas"], ["dev"]] {
            let help = try await runExecutable(executable, ["help"] + command)
            #expect(help.status == 0)
            #expect(help.output.contains("OVERVIEW: "), "no abstract in `tessera help \(command.joined(separator: " "))`")
            #expect(help.output.contains("tessera \(command.joined(separator: " "))"),
                    "no example in `tessera help \(command.joined(separator: " "))`")
        }
        // The benchmarks are not part of the database's binary.
        let bench = try await runExecutable(executable, ["bench", "peers"])
        #expect(bench.status == 64, "tessera still has a bench command: \(bench.output)")
    }

    @Test func benchmarksLiveInTesseraBench() async throws {
        let executable = try BuiltExecutable.url("tessera-bench")
        for command in [["peers"], ["cluster"], ["storage"], ["cells"], ["keyspace"]] {
            let help = try await runExecutable(executable, command + ["--help"])
            #expect(help.status == 0, "tessera-bench \(command[0]) --help: \(help.errorOutput)")
            #expect(help.output.contains("OVERVIEW: "), "no abstract in `tessera-bench \(command[0]) --help`")
            #expect(help.output.contains("tessera-bench \(command[0])"), "no example in `tessera-bench \(command[0]) --help`")
        }
    }
}
