import Foundation
import TestSupport
import Keyspace
import Storage
import Testing

/// Runs `tessera` against a fresh data directory; each test gets its own.
struct TesseraRunner {
    let executable: URL
    let folder: TemporaryFolder
    var dataDirectory: String { folder.path + "/data" }

    init() throws {
        executable = try BuiltExecutable.url("tessera")
        folder = try TemporaryFolder("cli")
    }

    /// `tessera <arguments> --data-dir <this test's folder>`.
    func callAsFunction(_ arguments: String..., input: Data? = nil) async throws -> Finished {
        try await runExecutable(executable, arguments + ["--data-dir", dataDirectory], standardInput: input)
    }

    /// `tessera <arguments>` with no `--data-dir`.
    func bare(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) async throws -> Finished {
        try await runExecutable(executable, arguments, in: directory, environment: environment)
    }

    func json(_ finished: Finished) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: finished.standardOutput, options: [.fragmentsAllowed])
        return try #require(object as? [String: Any], "not a JSON object: \(finished.output)")
    }

    /// The version in `version N`.
    func version(_ finished: Finished) throws -> UInt64 {
        #expect(finished.status == 0, "\(finished.errorOutput)")
        let text = finished.output.trimmingCharacters(in: .newlines)
        #expect(text.hasPrefix("version "), "unexpected output \(text.debugDescription)")
        return try #require(UInt64(text.dropFirst("version ".count)), "unexpected output \(text.debugDescription)")
    }
}

@Suite struct CLIRoundTripTests {
    @Test func putGetDeleteRoundTrip() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let version = try tessera.version(try await tessera("put", "acme/users/rnd/alice/v1", "hello world"))
        #expect(version >= 1)

        let got = try await tessera("get", "acme/users/rnd/alice/v1")
        #expect(got.status == 0, "\(got.errorOutput)")
        #expect(got.output == "hello world")  // raw bytes, no newline added

        let second = try tessera.version(try await tessera("put", "acme/users/rnd/alice/v1", "again"))
        #expect(second > version)
        #expect(try await tessera("get", "acme/users/rnd/alice/v1").output == "again")

        // The same key spelled with an escape names the same item.
        #expect(try await tessera("get", "acme/users/rnd/%61lice/v1").output == "again")

        let deleted = try tessera.version(try await tessera("delete", "acme/users/rnd/alice/v1"))
        #expect(deleted > second)
        let missing = try await tessera("get", "acme/users/rnd/alice/v1")
        #expect(missing.status == 1)
        #expect(missing.output.isEmpty)
        #expect(missing.errorOutput == "error: not found: acme/users/rnd/alice/v1\n")

        // Versions keep growing across a delete and re-create.
        #expect(try tessera.version(try await tessera("put", "acme/users/rnd/alice/v1", "back")) > deleted)
    }

    @Test func jsonOutput() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let put = try await tessera("put", "acme/users/rnd/bob/profile", "{\"name\": \"Bob\"}", "--json")
        #expect(put.status == 0, "\(put.errorOutput)")
        let version = try #require(try tessera.json(put)["version"] as? Int)

        let got = try tessera.json(try await tessera("get", "acme/users/rnd/bob/profile", "--json"))
        #expect(got["key"] as? String == "acme/users/rnd/bob/profile")
        #expect(got["sortKey"] as? String == "profile")
        #expect(got["version"] as? Int == version)
        #expect(got["value"] as? String == "{\"name\": \"Bob\"}")
        #expect(got["valueBase64"] == nil)

        let deleted = try tessera.json(try await tessera("delete", "acme/users/rnd/bob/profile", "--json"))
        #expect((deleted["version"] as? Int ?? 0) > version)

        let failed = try await tessera("put", "acme/users/rnd/bob/profile", "x", "--if-exists", "--json")
        #expect(failed.status == 2)
        let body = try tessera.json(failed)
        #expect(body["conditionFailed"] as? Bool == true)
        #expect(body.keys.contains("currentVersion") && body["currentVersion"] is NSNull)
        #expect(failed.errorOutput.contains("condition failed: item does not exist"))
    }

    @Test func binaryValueFromStandardInput() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let bytes: [UInt8] = [0, 255, 10, 13, 0x80, 0x41, 0xC3, 0x28] + (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        _ = try tessera.version(try await tessera("put", "acme/blobs/rnd/one", "-", input: Data(bytes)))
        let got = try await tessera("get", "acme/blobs/rnd/one")
        #expect(got.status == 0)
        #expect(Array(got.standardOutput) == bytes)

        let json = try tessera.json(try await tessera("get", "acme/blobs/rnd/one", "--json"))
        #expect(json["value"] is NSNull)
        #expect(json["valueBase64"] as? String == Data(bytes).base64EncodedString())
        #expect(json["sortKey"] as? String == "")

        // An empty standard input is an empty value, which is not the same as no item.
        _ = try tessera.version(try await tessera("put", "acme/blobs/rnd/empty", "-", input: Data()))
        let empty = try await tessera("get", "acme/blobs/rnd/empty")
        #expect(empty.status == 0 && empty.standardOutput.isEmpty)
    }

    @Test func conditions() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let key = "acme/accounts/rnd/carol"
        let created = try tessera.version(try await tessera("put", key, "100", "--if-absent"))

        let again = try await tessera("put", key, "200", "--if-absent")
        #expect(again.status == 2)
        #expect(again.output.isEmpty)
        #expect(again.errorOutput == "error: condition failed: current version \(created)\n")

        let stale = try await tessera("put", key, "200", "--if-version", String(created + 1000))
        #expect(stale.status == 2)
        #expect(stale.errorOutput.contains("condition failed: current version \(created)"))
        let staleJSON = try tessera.json(try await tessera("put", key, "200", "--if-version", "0", "--json"))
        #expect(staleJSON["conditionFailed"] as? Bool == true)
        #expect(staleJSON["currentVersion"] as? Int == Int(created))

        let swapped = try tessera.version(try await tessera("put", key, "200", "--if-version", String(created)))
        #expect(try await tessera("get", key).output == "200")

        // Compare-and-swap on the value.
        #expect(try await tessera("put", key, "300", "--if-value", "100").status == 2)
        let cas = try tessera.version(try await tessera("put", key, "300", "--if-value", "200"))
        #expect(cas > swapped)
        _ = try tessera.version(try await tessera("put", key, "400", "--if-exists"))

        let missingExists = try await tessera("put", "acme/accounts/rnd/nobody", "1", "--if-exists")
        #expect(missingExists.status == 2)
        #expect(missingExists.errorOutput == "error: condition failed: item does not exist\n")
        #expect(try await tessera("get", "acme/accounts/rnd/nobody").status == 1)

        // Conditional deletes.
        let wrongDelete = try await tessera("delete", key, "--if-value", "300")
        #expect(wrongDelete.status == 2)
        #expect(try await tessera("get", key).output == "400")
        _ = try tessera.version(try await tessera("delete", key, "--if-value", "400"))
        #expect(try await tessera("get", key).status == 1)
        #expect(try await tessera("delete", key, "--if-exists").status == 2)

        // Conditions are mutually exclusive: a usage error, before the store is touched.
        let both = try await tessera("put", key, "1", "--if-absent", "--if-version", "3")
        #expect(both.status == 64)
        #expect(both.errorOutput.contains("mutually exclusive"))
        #expect(try await tessera("delete", key, "--if-exists", "--if-value", "x").status == 64)
    }

    @Test func query() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let collection = "acme/orders/rnd/dave"
        var versions: [String: UInt64] = [:]
        for month in ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"] {
            versions[month] = try tessera.version(try await tessera("put", "\(collection)/\(month)", "order of \(month)"))
        }
        _ = try tessera.version(try await tessera("put", "\(collection)/odd%2Fkey", "tab\there\nnew\\line\u{1}"))
        _ = try tessera.version(try await tessera("put", "acme/orders/rnd/erin/2024-01", "someone else"))

        let all = try await tessera("query", collection)
        #expect(all.status == 0, "\(all.errorOutput)")
        #expect(all.errorOutput.isEmpty)
        let lines = all.output.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 7)  // six items and the final newline
        #expect(lines[0] == "2024-01\t\(versions["2024-01"]!)\torder of 2024-01")
        #expect(lines[5].hasPrefix("odd%2Fkey\t") && lines[5].hasSuffix("\ttab\\there\\nnew\\\\line\\x01"))

        // Pages: two at a time, resumed with the token printed on standard error.
        var collected: [String] = []
        var token: String? = nil
        var pages = 0
        repeat {
            var arguments = ["query", collection, "--limit", "2", "--json"]
            if let token { arguments += ["--after", token] }
            let page = try await tessera.bare(arguments + ["--data-dir", tessera.dataDirectory])
            #expect(page.status == 0, "\(page.errorOutput)")
            let body = try tessera.json(page)
            let items = try #require(body["items"] as? [[String: Any]])
            collected += items.compactMap { $0["sortKey"] as? String }
            token = body["continuation"] as? String
            #expect(token != nil || body["continuation"] is NSNull)
            pages += 1
        } while token != nil && pages < 10
        #expect(collected == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "odd%2Fkey"])
        #expect(pages == 3)

        let first = try await tessera("query", collection, "--limit", "2")
        let next = try #require(first.errorOutput.split(separator: "\n").last.map(String.init))
        #expect(next.hasPrefix("next: "))
        let after = try await tessera("query", collection, "--limit", "2", "--after", String(next.dropFirst("next: ".count)))
        #expect(after.output.hasPrefix("2024-03\t"))

        // Bounds (inclusive) and reverse order.
        let window = try await tessera("query", collection, "--from", "2024-02", "--to", "2024-04", "--reverse")
        #expect(window.output.split(separator: "\n").map { $0.prefix(7) } == ["2024-04", "2024-03", "2024-02"])
        let reversePage = try await tessera("query", collection, "--reverse", "--limit", "1", "--to", "2024-05")
        #expect(reversePage.output.hasPrefix("2024-05\t"))
        #expect(reversePage.errorOutput.hasPrefix("next: "))

        // An empty collection prints nothing.
        let none = try await tessera("query", "acme/orders/rnd/nobody")
        #expect(none.status == 0 && none.output.isEmpty && none.errorOutput.isEmpty)
        let noneJSON = try tessera.json(try await tessera("query", "acme/orders/rnd/nobody", "--json"))
        #expect((noneJSON["items"] as? [Any])?.isEmpty == true && noneJSON["continuation"] is NSNull)

        // Bad input.
        let badToken = try await tessera("query", collection, "--after", "zz")
        #expect(badToken.status == 64)
        #expect(badToken.errorOutput.contains("continuation token"))
        #expect(try await tessera("query", "\(collection)/2024-01").status == 64)
        #expect(try await tessera("query", collection, "--limit", "0").status == 64)
        #expect(try await tessera("query", collection, "--from", "a/b").status == 64)
    }

    @Test func badInputAndExitStatuses() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        // Reading a data directory that does not exist does not create one.
        let nothing = try await tessera("get", "acme/users/rnd/alice")
        #expect(nothing.status == 74)
        #expect(nothing.errorOutput.contains("no data directory"))
        #expect(try await tessera("query", "acme/users/rnd/alice").status == 74)
        #expect(try await tessera("delete", "acme/users/rnd/alice").status == 74)
        #expect(!FileManager.default.fileExists(atPath: tessera.dataDirectory))

        let badKey = try await tessera("put", "Acme/users/rnd/alice", "x")
        #expect(badKey.status == 64)
        #expect(badKey.errorOutput.contains("account"))
        #expect(try await tessera("get", "acme/us/rnd/alice").errorOutput.contains("resource"))

        // Queues are not stored by the rnd engine.
        let queue = try await tessera("put", "acme/jobs/lnr/q1", "x")
        #expect(queue.status == 64)
        #expect(queue.errorOutput.contains("rnd"))

        let tooLarge = try await tessera("put", "acme/blobs/rnd/big", "-", input: Data(count: StorageLimits.valueBytesMaximum + 1))
        #expect(tooLarge.status == 64)
        #expect(tooLarge.errorOutput.contains("value too large"))
    }

    @Test func corruptDataExits65() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        _ = try tessera.version(try await tessera("put", "acme/users/rnd/hana/v1", "hello"))
        // Flip one byte in every page after the two superblocks: checksums must catch it.
        let pagesURL = URL(fileURLWithPath: tessera.dataDirectory + "/pages.db")
        var pages = try Data(contentsOf: pagesURL)
        #expect(pages.count > 2 * 4096)
        for page in stride(from: 2 * 4096, to: pages.count, by: 4096) { pages[page + 100] ^= 0xFF }
        try pages.write(to: pagesURL)
        let got = try await tessera("get", "acme/users/rnd/hana/v1")
        #expect(got.status == 65)
        #expect(got.output.isEmpty)
        #expect(got.errorOutput.hasPrefix("error: corrupt data in pages.db"), "\(got.errorOutput)")
    }

    /// A node folder written by an older Tessera (format 1: no `dataFormat` in
    /// `node.json`) is refused before anything is opened, with how to upgrade.
    @Test func aNodeFolderOfAnOlderFormatIsRefusedWithExit78() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let folder = tessera.folder.path + "/node"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let identity = #"{"cellDepth":6,"memberID":"n1","placementForm":"flat","replicas":1}"#
        try Data(identity.utf8).write(to: URL(fileURLWithPath: folder + "/node.json"))
        let members = tessera.folder.path + "/members.json"
        try Data(#"[{"id": "n1", "address": "127.0.0.1:1"}]"#.utf8).write(to: URL(fileURLWithPath: members))
        let refused = try await tessera.bare([
            "serve", "--node-id", "n1", "--listen", "127.0.0.1:0", "--members", members, "--data-dir", folder,
            "--cell-depth", "6", "--replicas", "1", "--insecure-plaintext",
        ])
        #expect(refused.status == 78, "\(refused.errorOutput)")
        #expect(refused.errorOutput.contains("on-disk format 1"), "\(refused.errorOutput)")
        #expect(refused.errorOutput.contains("Upgrading"), "\(refused.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/store"), "nothing was opened")
    }

    @Test func lockedDataDirectory() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        _ = try tessera.version(try await tessera("put", "acme/users/rnd/frank", "v"))
        try await openAndClose(tessera.dataDirectory) {
            let locked = try await tessera("get", "acme/users/rnd/frank")
            #expect(locked.status == 74)
            #expect(locked.errorOutput.contains("in use by another process"))
        }
        // The store object is gone, and its lock with it.
        let after = try await tessera("get", "acme/users/rnd/frank")
        #expect(after.status == 0 && after.output == "v", "after the in-process store was released: \(after.errorOutput)")
    }

    /// `Store.close()` releases the directory's lock at once, not when the object goes away.
    @Test func closeReleasesTheLock() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        _ = try tessera.version(try await tessera("put", "acme/users/rnd/frank", "v"))
        let store = try Store(path: tessera.dataDirectory)
        try store.close()
        let after = try await tessera("get", "acme/users/rnd/frank")
        #expect(after.status == 0 && after.output == "v", "after close(): \(after.errorOutput)")
        withExtendedLifetime(store) {}
    }

    /// Opens the store in this process, runs `body` while it is open, then closes and releases it.
    private func openAndClose(_ path: String, _ body: () async throws -> Void) async throws {
        let store = try Store(path: path)
        defer { try? store.close() }
        try await body()
    }

    /// A relative --data-dir is under the current directory. (Without --data-dir the data
    /// commands go to a cluster: see ClusterCLITests.defaultEndpointWithoutACluster.)
    @Test func relativeDataDirectory() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let put = try await tessera.bare(["put", "acme/users/rnd/gina", "hi", "--data-dir", ".tessera/local"], in: tessera.folder.url)
        #expect(put.status == 0, "\(put.errorOutput)")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: tessera.folder.path + "/.tessera/local", isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
        #expect(try await tessera.bare(["get", "acme/users/rnd/gina", "--data-dir", ".tessera/local"], in: tessera.folder.url).output == "hi")
    }

    @Test func helpHasAnAbstractAndAnExample() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        for command in ["put", "get", "delete", "query"] {
            let help = try await tessera.bare(["help", command])
            #expect(help.status == 0)
            #expect(help.output.contains("tessera \(command) acme/"), "no example in `tessera help \(command)`")
            #expect(help.output.contains(".tessera/local"), "the default --data-dir is not documented")
        }
    }

    @Test func locate() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let located = try await tessera.bare(["locate", "acme/users/rnd/alice/v1"])
        #expect(located.status == 0)
        // sha512("acme/users/rnd/alice"), computed with sha512sum.
        #expect(located.output.contains("pointer     2fdffc5d0d4ebab18415d83ca01e1066"))
        let bad = try await tessera.bare(["locate", "Acme/users/rnd/alice"])
        #expect(bad.status == 64)
        #expect(bad.errorOutput.contains("account"))
        #expect(bad.output.isEmpty)
    }
}
