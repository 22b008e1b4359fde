import Foundation
import TestSupport
import Testing

/// `tessera-bench peers` end to end, tiny: it must start every server (a
/// one-node and a three-node Tessera, Redis, three etcd members, and the
/// three-node Tessera and etcd again over TLS), drive them,
/// stop them, and write a report that holds every run. Speed is not checked
/// here (debug build, shared machine); the benchmark itself reports it.
@Suite(.serialized) struct PeersBenchCLITests {
    @Test(.timeLimit(.minutes(5)), .requires(.redisServer, .etcd)) func tinyRunWritesEveryRunAndCleansUp() async throws {
        let executable = try BuiltExecutable.url("tessera-bench")
        let folder = try TemporaryFolder("peers")
        defer { folder.remove() }
        let data = folder.path + "/data"
        let results = folder.path + "/results"
        let run = try await runExecutable(executable, [
            "peers", "--repeats", "1", "--duration", "1", "--warm-up", "0", "--clients", "1,4",
            "--keys", "200", "--data-dir", data, "--output", results,
        ], timeout: .seconds(240))
        #expect(run.status == 0, "tessera-bench peers failed:\n\(run.errorOutput.suffix(3000))")
        guard run.status == 0 else { return }

        let names = try FileManager.default.contentsOfDirectory(atPath: results).sorted()
        #expect(names.count == 3, "expected <date>.json, .md and .svg, found \(names)")
        let jsonName = try #require(names.first { $0.hasSuffix(".json") })
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results + "/" + jsonName))) as? [String: Any])
        let runs = try #require(json["runs"] as? [[String: Any]])
        // single: 4 systems × 2 client counts; replicated: 2 systems × 3 operations × 2 client counts;
        // tls: 2 systems × 2 operations × 2 client counts.
        let expectedRuns = 4 * 2 + 2 * 3 * 2 + 2 * 2 * 2
        #expect(runs.count == expectedRuns)
        for record in runs {
            let result = try #require(record["result"] as? [String: Any])
            let system = record["system"] as? String ?? "?"
            let operation = record["operation"] as? String ?? "?"
            let label = system + " " + operation + " × \(record["clients"] as? Int ?? 0)"
            let operations: Int = result["operations"] as? Int ?? 0
            let errors: Int = result["errors"] as? Int ?? -1
            #expect(operations > 0, "\(label) did nothing: \(result)")
            #expect(errors == 0, "\(label) had errors: \(result)")
        }
        let systems = try #require(json["systems"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(Set(systems) == ["tessera-1", "redis", "tessera-embedded", "sqlite", "tessera-3", "etcd-3", "tessera-3-tls", "etcd-3-tls"])

        let markdown = try String(contentsOfFile: results + "/" + jsonName.replacingOccurrences(of: ".json", with: ".md"), encoding: .utf8)
        #expect(markdown.contains("etcd"))
        #expect(markdown.contains(".svg"))
        #expect(run.output.contains("wrote "))
        // Servers stopped and their data went with the run.
        #expect(!FileManager.default.fileExists(atPath: data))
    }

    @Test func aFolderWithOtherFilesIsRefusedAndKept() async throws {
        let executable = try BuiltExecutable.url("tessera-bench")
        let folder = try TemporaryFolder("peers-keep")
        defer { folder.remove() }
        let precious = folder.path + "/precious.txt"
        _ = FileManager.default.createFile(atPath: precious, contents: Data("keep me".utf8))
        let run = try await runExecutable(executable, ["peers", "--data-dir", folder.path, "--output", folder.path + "/out"])
        #expect(run.status == 64)
        #expect(run.errorOutput.contains("did not make"))
        #expect(FileManager.default.fileExists(atPath: precious))
    }

    @Test func badFlagsAreRefusedBeforeAnythingStarts() async throws {
        let executable = try BuiltExecutable.url("tessera-bench")
        let run = try await runExecutable(executable, ["peers", "--clients", "0,x"])
        #expect(run.status == 64)
        #expect(run.errorOutput.contains("--clients"))
        let sections = try await runExecutable(executable, ["peers", "--sections", "clustered"])
        #expect(sections.status == 64)
        #expect(sections.errorOutput.contains("--sections"))
    }
}
