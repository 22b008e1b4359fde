import Credentials
import Foundation
import TestSupport
import Testing

/// `tessera auth` and access control with real processes: a node over TLS,
/// the operator's certificate, access keys made, used, refused and revoked,
/// and a certificate that carries narrower grants.
@Suite struct AuthCommandTests {
    struct Node {
        let tessera: TesseraRunner
        let pki: String
        let endpoint: [String]
        let process: BackgroundProcess
        var ca: [String] { ["--tls-ca", pki + "/ca.pem"] }
        var operatorCertificate: [String] { ca + ["--tls-cert", pki + "/client-ops.pem", "--tls-key", pki + "/client-ops-key.pem"] }

        /// `tessera <arguments>` against the node, as the operator.
        func asOperator(_ arguments: [String]) async throws -> Finished {
            try await tessera.bare(arguments + endpoint + operatorCertificate)
        }

        /// `tessera <arguments>` against the node with an access key.
        func with(_ key: (id: String, secret: String), _ arguments: [String]) async throws -> Finished {
            try await tessera.bare(arguments + endpoint + ca + ["--access-key-id", key.id],
                                   environment: ["TESSERA_ACCESS_KEY_SECRET": key.secret])
        }

        func createKey(_ arguments: [String], as key: (id: String, secret: String)? = nil) async throws -> (id: String, secret: String) {
            let command = ["auth", "create-key"] + arguments + ["--json"]
            let made: Finished
            if let key { made = try await with(key, command) } else { made = try await asOperator(command) }
            #expect(made.status == 0, "\(made.errorOutput)")
            let json = try #require(try JSONSerialization.jsonObject(with: made.standardOutput) as? [String: Any], "\(made.output)")
            return (try #require(json["id"] as? String), try #require(json["secret"] as? String))
        }
    }

    /// One node `n1` over TLS with its own CA, an operator client certificate (`ops`)
    /// and one granting only `acme:read` (`reader`), serving when this returns.
    static func startTLSNode(_ tessera: TesseraRunner, serveArguments: [String] = []) async throws -> Node {
        let pki = tessera.folder.path + "/pki"
        let made = try await tessera.bare(["credentials", "--folder", pki, "--member", "n1", "--client", "ops"])
        #expect(made.status == 0, "\(made.errorOutput)")
        let narrow = try await tessera.bare(["credentials", "--folder", pki, "--client", "reader", "--grant", "acme:read"])
        #expect(narrow.status == 0 && narrow.output.contains("granting acme:read"), "\(narrow.output) \(narrow.errorOutput)")

        let port = try LoopbackPorts.free(1)[0]
        let members = tessera.folder.path + "/members.json"
        try Data(#"[{"id": "n1", "address": "127.0.0.1:\#(port)"}]"#.utf8).write(to: URL(fileURLWithPath: members))
        let process = try BackgroundProcess(tessera.executable, [
            "serve", "--node-id", "n1", "--listen", "127.0.0.1:\(port)", "--members", members,
            "--data-dir", tessera.folder.path + "/n1", "--cell-depth", "4", "--replicas", "1",
            "--tls-ca", pki + "/ca.pem", "--tls-cert", pki + "/member-n1.pem", "--tls-key", pki + "/member-n1-key.pem",
        ] + serveArguments, logURL: tessera.folder.url.appendingPathComponent("n1.log"))
        #expect(await process.waitForOutput("node serving", timeout: .seconds(60)), "\(process.output)")
        return Node(tessera: tessera, pki: pki, endpoint: ["--endpoint", "127.0.0.1:\(port)"], process: process)
    }

    @Test(.timeLimit(.minutes(3))) func keysAndCertificatesReachOnlyTheirAccounts() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let node = try await Self.startTLSNode(tessera)
        defer { node.process.stop() }
        let pki = node.pki

        // The operator (a certificate without --grant) is admin of every account.
        let whoami = try await node.asOperator(["auth", "whoami"])
        #expect(whoami.status == 0 && whoami.output.contains("client ops") && whoami.output.contains("*: read,write,admin"), "\(whoami.output)")
        #expect(try await node.asOperator(["put", "other/tbl/rnd/k", "theirs"]).status == 0)

        // A key for acme reads and writes acme, and nothing else.
        let acme = try await node.createKey(["acme"])
        let put = try await node.with(acme, ["put", "acme/tbl/rnd/k", "mine"])
        #expect(put.status == 0, "\(put.errorOutput)")
        let get = try await node.with(acme, ["get", "acme/tbl/rnd/k"])
        #expect(get.status == 0 && get.output == "mine", "\(get.errorOutput)")
        let viaFlag = try await tessera.bare(["get", "acme/tbl/rnd/k"] + node.endpoint + node.ca
                                             + ["--access-key-id", acme.id, "--access-key-secret", acme.secret])
        #expect(viaFlag.output == "mine", "\(viaFlag.errorOutput)")
        for arguments in [["get", "other/tbl/rnd/k"], ["put", "other/tbl/rnd/k", "stolen"], ["delete", "other/tbl/rnd/k"],
                          ["query", "other/tbl/rnd/k"]] {
            let refused = try await node.with(acme, arguments)
            #expect(refused.status == 77 && refused.errorOutput.contains("account other"), "\(arguments): \(refused.errorOutput)")
        }
        let untouched = try await node.asOperator(["get", "other/tbl/rnd/k"])
        #expect(untouched.output == "theirs", "a refused write changed the item: \(untouched.output)")
        // Nor can it hand out keys: that takes admin.
        let escalate = try await node.with(acme, ["auth", "create-key", "acme"])
        #expect(escalate.status == 77 && escalate.errorOutput.contains("admin of acme"), "\(escalate.errorOutput)")
        // The cluster's own account is out of everyone's reach but its members'.
        let system = try await node.asOperator(["get", "tessera-system/auth/rnd/access-keys/\(acme.id)"])
        #expect(system.status == 77 && system.errorOutput.contains("account tessera-system"), "\(system.errorOutput)")

        // A read-only key reads, and its writes are refused.
        let reader = try await node.createKey(["acme", "--read-only"])
        #expect(try await node.with(reader, ["get", "acme/tbl/rnd/k"]).output == "mine")
        let readOnlyPut = try await node.with(reader, ["put", "acme/tbl/rnd/k", "no"])
        #expect(readOnlyPut.status == 77 && readOnlyPut.errorOutput.contains("may only read"), "\(readOnlyPut.errorOutput)")

        // Wrong secret, unknown id, missing secret.
        let wrong = try await node.with((acme.id, String(repeating: "0", count: 64)), ["get", "acme/tbl/rnd/k"])
        #expect(wrong.status == 80 && wrong.errorOutput.contains("secret is wrong"), "\(wrong.errorOutput)")
        let unknown = try await node.with(("tk00000000000000000000", acme.secret), ["get", "acme/tbl/rnd/k"])
        #expect(unknown.status == 80, "\(unknown.errorOutput)")
        let noSecret = try await tessera.bare(["get", "acme/tbl/rnd/k"] + node.endpoint + node.ca + ["--access-key-id", acme.id])
        #expect(noSecret.status == 64 && noSecret.errorOutput.contains("TESSERA_ACCESS_KEY_SECRET"), "\(noSecret.errorOutput)")
        let caOnly = try await tessera.bare(["get", "acme/tbl/rnd/k"] + node.endpoint + node.ca)
        #expect(caOnly.status == 64 && caOnly.errorOutput.contains("does not authenticate"), "\(caOnly.errorOutput)")

        // An admin key of team makes keys for team only, and lists only team's keys.
        let teamAdmin = try await node.createKey(["team", "--admin"])
        let teamKey = try await node.createKey(["team"], as: teamAdmin)
        let overreach = try await node.with(teamAdmin, ["auth", "create-key", "acme"])
        #expect(overreach.status == 77, "\(overreach.errorOutput)")
        let teamList = try await node.with(teamAdmin, ["auth", "list"])
        #expect(teamList.output.contains(teamKey.id) && !teamList.output.contains(acme.id), "\(teamList.output)")
        let everything = try await node.asOperator(["auth", "list", "--json"])
        #expect(everything.output.contains(acme.id) && everything.output.contains(teamKey.id), "\(everything.output)")
        #expect(!everything.output.contains(acme.secret), "a listing shows a secret")

        // Revoked: refused at once on the node that revoked it, on a new connection.
        let revoke = try await node.with(teamAdmin, ["auth", "revoke", teamKey.id])
        #expect(revoke.status == 0 && revoke.output.contains("revoked \(teamKey.id)"), "\(revoke.errorOutput)")
        let revoked = try await node.with(teamKey, ["get", "team/tbl/rnd/k"])
        #expect(revoked.status == 80 && revoked.errorOutput.contains("was revoked"), "\(revoked.errorOutput)")
        let listed = try await node.asOperator(["auth", "list"])
        #expect(listed.output.split(separator: "\n").contains { $0.contains(teamKey.id) && $0.contains("revoked") }, "\(listed.output)")

        // Expired: a key that lives one second is refused once it is past.
        let brief = try await node.createKey(["acme", "--expires-in", "1"])
        let expiry = try await waitFor(timeout: .seconds(30)) {
            let attempt = try await node.with(brief, ["get", "acme/tbl/rnd/k"])
            return attempt.status == 80 ? attempt : nil
        }
        #expect(expiry?.errorOutput.contains("expired at") == true, "\(String(describing: expiry?.errorOutput))")

        // A certificate granting acme:read reads acme and writes nothing.
        let readerCertificate = node.ca + ["--tls-cert", pki + "/client-reader.pem", "--tls-key", pki + "/client-reader-key.pem"]
        #expect(try await tessera.bare(["get", "acme/tbl/rnd/k"] + node.endpoint + readerCertificate).output == "mine")
        let certificatePut = try await tessera.bare(["put", "acme/tbl/rnd/k", "x"] + node.endpoint + readerCertificate)
        #expect(certificatePut.status == 77 && certificatePut.errorOutput.contains("client reader may not write account acme"),
                "\(certificatePut.errorOutput)")
        let certificateOther = try await tessera.bare(["get", "other/tbl/rnd/k"] + node.endpoint + readerCertificate)
        #expect(certificateOther.status == 77, "\(certificateOther.errorOutput)")

        // A certificate of the CA that expired yesterday: not authenticated.
        try CredentialFolder(path: pki).ensure([.client("late")], validFor: 86_400, now: Date().addingTimeInterval(-2 * 86_400))
        let late = try await tessera.bare(["get", "acme/tbl/rnd/k"] + node.endpoint + node.ca
                                          + ["--tls-cert", pki + "/client-late.pem", "--tls-key", pki + "/client-late-key.pem"])
        #expect(late.status == 80 && late.errorOutput.contains("not now"), "\(late.errorOutput)")
    }

    /// Polls `attempt` until it returns a value or `timeout` passes.
    private func waitFor<T>(timeout: Duration, _ attempt: () async throws -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = try await attempt() { return value }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }
}
