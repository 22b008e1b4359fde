import Credentials
import Foundation
import Testing

@Suite struct CredentialFolderTests {
    static func temporaryFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tessera-credentials-\(UUID().uuidString.prefix(8))").path
    }

    @Test func aFolderIssuesMemberAndClientCredentialsThatLoadWithTheirIdentity() throws {
        let path = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let folder = CredentialFolder(path: path)
        let issued = try folder.ensure([.member("node-1"), .member("node/2"), .client("dev")])
        #expect(issued.count == 3)
        // A second run keeps the CA and what exists.
        #expect(try folder.ensure([.member("node-1"), .client("dev")]).isEmpty)
        for identity in [PeerIdentity.member("node-1"), .member("node/2"), .client("dev")] {
            let loaded = try folder.files(for: identity).load()
            #expect(loaded.identity == identity)
            _ = try loaded.serverContext()
            _ = try loaded.clientContext()
        }
        let keyMode = try FileManager.default.attributesOfItem(atPath: folder.files(for: .client("dev")).privateKey)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
    }

    @Test func aCertificateFromAnotherCAIsRefusedNamingTheFile() throws {
        let (one, other) = (Self.temporaryFolder(), Self.temporaryFolder())
        defer {
            try? FileManager.default.removeItem(atPath: one)
            try? FileManager.default.removeItem(atPath: other)
        }
        try CredentialFolder(path: one).ensure([.member("a")])
        try CredentialFolder(path: other).ensure([.member("a")])
        var mixed = CredentialFolder(path: one).files(for: .member("a"))
        mixed.certificateAuthority = CredentialFolder(path: other).certificateAuthorityPath
        #expect {
            try mixed.load()
        } throws: { error in
            "\(error)".contains(mixed.certificate) && "\(error)".contains("not signed by the CA")
        }
    }

    @Test func expiredAndMissingCredentialsAreRefused() throws {
        let path = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let folder = CredentialFolder(path: path)
        try folder.ensure([.client("dev")])
        let files = folder.files(for: .client("dev"))
        #expect { try files.load(now: Date().addingTimeInterval(400 * 86_400)) } throws: { "\($0)".contains("not now") }
        var missing = files
        missing.privateKey = path + "/nowhere-key.pem"
        #expect { try missing.load() } throws: { "\($0)".contains("does not exist") }
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: files.certificate))
        #expect { try files.load() } throws: { "\($0)".contains("is not a PEM certificate") }
    }

    @Test func identitiesReadBackFromTheirCommonNames() {
        #expect(PeerIdentity(commonName: "member:n1") == .member("n1"))
        #expect(PeerIdentity(commonName: "client:ops") == .client("ops"))
        for bad in ["member:", "client:", "n1", "admin:x", ""] { #expect(PeerIdentity(commonName: bad) == nil, "\(bad)") }
    }
}
