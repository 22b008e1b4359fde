import Foundation
import TestSupport
import Testing

/// `tessera credentials`, `tessera serve` over TLS and the CLI's TLS flags,
/// with real processes: what works, and what is refused with its reason.
@Suite struct TLSCommandTests {
    @Test(.timeLimit(.minutes(2))) func aNodeServesOverTLSAndRefusesWhatLacksCredentials() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let pki = tessera.folder.path + "/pki"
        let made = try await tessera.bare(["credentials", "--folder", pki, "--member", "n1", "--client", "app"])
        #expect(made.status == 0, "\(made.errorOutput)")
        #expect(made.output.contains("member n1:") && made.output.contains("client app:"), "\(made.output)")

        let port = try LoopbackPorts.free(1)[0]
        let members = tessera.folder.path + "/members.json"
        try Data(#"[{"id": "n1", "address": "127.0.0.1:\#(port)"}]"#.utf8).write(to: URL(fileURLWithPath: members))
        let serve = ["serve", "--node-id", "n1", "--listen", "127.0.0.1:\(port)", "--members", members,
                     "--data-dir", tessera.folder.path + "/n1", "--cell-depth", "4", "--replicas", "1"]
        let ca = ["--tls-ca", pki + "/ca.pem"]

        // Neither credentials nor --insecure-plaintext: refused, saying what to give.
        let bare = try await tessera.bare(serve)
        #expect(bare.status == 64 && bare.errorOutput.contains("--insecure-plaintext"), "\(bare.errorOutput)")
        // A client's certificate is not a node's.
        let wrong = try await tessera.bare(serve + ca + ["--tls-cert", pki + "/client-app.pem", "--tls-key", pki + "/client-app-key.pem"])
        #expect(wrong.status == 64 && wrong.errorOutput.contains("names client app, not member n1"), "\(wrong.errorOutput)")

        let node = try BackgroundProcess(tessera.executable, serve + ca + ["--tls-cert", pki + "/member-n1.pem", "--tls-key", pki + "/member-n1-key.pem"],
                                         logURL: tessera.folder.url.appendingPathComponent("n1.log"))
        defer { node.stop() }
        #expect(await node.waitForOutput("node serving", timeout: .seconds(60)), "\(node.output)")
        #expect(!node.output.contains("NOT encrypted"), "\(node.output)")

        let endpoint = ["--endpoint", "127.0.0.1:\(port)"]
        let client = ca + ["--tls-cert", pki + "/client-app.pem", "--tls-key", pki + "/client-app-key.pem"]
        let put = try await tessera.bare(["put", "acme/users/rnd/tls", "sealed"] + endpoint + client)
        #expect(put.status == 0, "\(put.errorOutput)")
        let get = try await tessera.bare(["get", "acme/users/rnd/tls"] + endpoint + client)
        #expect(get.status == 0 && get.output == "sealed", "\(get.errorOutput)")

        // A plaintext client is told at once that the node speaks TLS.
        let plaintext = try await tessera.bare(["get", "acme/users/rnd/tls"] + endpoint)
        #expect(plaintext.status == 76 && plaintext.errorOutput.contains("speaks TLS"), "\(plaintext.errorOutput)")
        // A node certificate reads and writes every account (nodes run programs' host calls
        // and hold all data anyway) but administers none of the users': it cannot make keys.
        let asNode = ["--tls-cert", pki + "/member-n1.pem", "--tls-key", pki + "/member-n1-key.pem"]
        let nodeGet = try await tessera.bare(["get", "acme/users/rnd/tls"] + endpoint + ca + asNode)
        #expect(nodeGet.status == 0 && nodeGet.output == "sealed", "\(nodeGet.errorOutput)")
        let nodeKey = try await tessera.bare(["auth", "create-key", "acme"] + endpoint + ca + asNode)
        #expect(nodeKey.status == 77 && nodeKey.errorOutput.contains("member n1 may not make keys for account acme"),
                "a node's certificate made an access key: \(nodeKey.output) \(nodeKey.errorOutput)")
    }
}
