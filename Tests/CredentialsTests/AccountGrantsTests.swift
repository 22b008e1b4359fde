import Credentials
import Foundation
import Testing
import X509

/// Grants: how they parse, what `*` covers (never the system account), who
/// may hand out what, and how a certificate carries them.
@Suite struct AccountGrantsTests {
    @Test func grantsParseAndAdminImpliesReadAndWrite() throws {
        let grants = try AccountGrants.parse(["acme", "shared:read", "ops:admin", "acme:read"])
        #expect(grants.permissions(in: "acme") == [.read, .write])
        #expect(grants.permissions(in: "shared") == .read)
        #expect(grants.permissions(in: "ops") == .all)
        #expect(grants.permissions(in: "other").isEmpty)
        #expect(grants.description == "acme:read,write ops:read,write,admin shared:read")
        for bad in ["", "Acme", "a/b", "acme:delete", "acme:", AccountGrants.systemAccount] {
            #expect(throws: GrantError.self, "\(bad.debugDescription)") { _ = try AccountGrants.parse([bad]) }
        }
    }

    @Test func everyAccountCoversAllButTheSystemAccount() {
        let everything = AccountGrants.adminOfEveryAccount
        #expect(everything.allows(.all, in: "anything"))
        #expect(!everything.allows(.read, in: AccountGrants.systemAccount))
    }

    @Test func onlyAnAdminOfEveryAccountNamedHandsOutGrants() throws {
        let acmeAdmin = try AccountGrants.parse(["acme:admin", "shared:read"])
        #expect(acmeAdmin.administers(try AccountGrants.parse(["acme:read"])))
        #expect(!acmeAdmin.administers(try AccountGrants.parse(["acme", "shared:read"])))
        #expect(!acmeAdmin.administers(try AccountGrants.parse(["*:read"])))
        #expect(AccountGrants.adminOfEveryAccount.administers(try AccountGrants.parse(["*:read", "x"])))
    }

    @Test func aClientCertificateCarriesItsGrantsAndAMemberCertificateNone() throws {
        let authority = try CertificateAuthority.generate(name: "test CA")
        let grants = try AccountGrants.parse(["acme", "shared:read"])
        let client = try Certificate(pemEncoded: try authority.issue(.client("app"), grants: grants).certificatePEM)
        #expect(AccountGrants(certificate: client) == grants)
        let member = try Certificate(pemEncoded: try authority.issue(.member("n1"), grants: grants).certificatePEM)
        #expect(AccountGrants(certificate: member).isEmpty)
    }

    /// Key records are read back from the system account, which a plaintext
    /// cluster's clients can write: whatever bytes are there decode to a
    /// record or to nothing, never to a crash.
    @Test func anyBytesDecodeToARecordOrToNothing() {
        var generator = SystemRandomNumberGenerator()
        let record = AccessKeyRecord(id: "tk0123456789abcdef0123", secretSHA256: String(repeating: "a", count: 64),
                                     grants: AccountGrants([AccountGrants.everyAccount: .read]), createdBy: "test",
                                     createdAt: Date(timeIntervalSince1970: 1), expiresAt: nil)
        let valid = record.encoded()
        #expect(AccessKeyRecord.decode(valid) == record)
        for round in 0..<2_000 {
            var bytes = valid
            switch round % 3 {
            case 0: bytes = (0..<Int.random(in: 0...80, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            case 1: bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator))
            default: bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = AccessKeyRecord.decode(bytes)?.accountGrants
        }
    }
}
