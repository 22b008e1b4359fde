import Credentials
import Foundation
import Testing

@testable import Client

/// A client given no credentials uses the dev cluster's, and only for the dev cluster's members.
@Suite struct DevClusterCredentialsTests {
    @Test func theDevClustersClientCertificateServesItsMembersOnly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-devcreds-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/dev", withIntermediateDirectories: true)
        #expect(DevClusterCredentials.find(for: [Endpoint("127.0.0.1:7101")!], dataDirectory: folder) == nil)
        try Data(#"[{"id": "node-1", "address": "127.0.0.1:7101", "zone": "z1", "weight": 1}]"#.utf8)
            .write(to: URL(fileURLWithPath: folder + "/dev/members.json"))
        try CredentialFolder(path: folder + "/dev/credentials").ensure([.member("node-1"), .client("dev")])
        let found = DevClusterCredentials.find(for: [Endpoint("127.0.0.1:7101")!], dataDirectory: folder)
        #expect(found?.identity == .client("dev"))
        #expect(DevClusterCredentials.find(for: [Endpoint("127.0.0.1:7999")!], dataDirectory: folder) == nil)
        // A dev cluster running with --insecure-plaintext: no TLS, whatever credentials are left.
        FileManager.default.createFile(atPath: folder + "/dev/insecure-plaintext", contents: Data())
        #expect(DevClusterCredentials.find(for: [Endpoint("127.0.0.1:7101")!], dataDirectory: folder) == nil)
    }
}
