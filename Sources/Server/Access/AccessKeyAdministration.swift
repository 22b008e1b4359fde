import Client
import Credentials
import Foundation
import Wire

/// `tessera auth`: making, listing and revoking access keys. A principal may
/// hand out only what it administers: a key for account `a` needs admin of
/// `a`, a key for every account (`*`) needs admin of `*`. The records are
/// written through the node's ``SystemClient`` into the system account, so
/// they are replicated like any item.
struct AccessKeyAdministration: Sendable {
    let system: SystemClient
    let directory: AccessKeyDirectory
    static let expirySecondsMaximum: UInt64 = 10 * 365 * 86_400

    func create(_ wireGrants: [WireGrant], expiresInSeconds: UInt64?, by subject: Subject) async -> ClientResponse.Body {
        var byAccount: [String: Permissions] = [:]
        for grant in wireGrants {
            do { try AccountGrants.validate(account: grant.account) } catch {
                return .error(.badRequest, "grant: \(error)")
            }
            var permissions = Permissions(rawValue: grant.permissions & Permissions.all.rawValue)
            if permissions.contains(.admin) { permissions = .all }
            guard !permissions.isEmpty else { return .error(.badRequest, "grant on account \(grant.account) gives no permission") }
            byAccount[grant.account, default: []].formUnion(permissions)
        }
        let grants = AccountGrants(byAccount)
        guard !grants.isEmpty else { return .error(.badRequest, "an access key needs at least one account to grant") }
        if let expiresInSeconds, !(1...Self.expirySecondsMaximum).contains(expiresInSeconds) {
            return .error(.badRequest, "expiry of \(expiresInSeconds) seconds is out of range: use 1 to \(Self.expirySecondsMaximum)")
        }
        guard subject.grants.administers(grants) else {
            let account = grants.byAccount.keys.sorted().first { !subject.grants.administers(AccountGrants([$0: .admin])) } ?? "?"
            return .error(.forbidden, "\(subject.name) may not make keys for account \(account): that needs admin of \(account)")
        }
        let key = AccessKey.generate()
        let now = Date()
        let record = AccessKeyRecord(id: key.id, secretSHA256: key.secretDigest, grants: grants, createdBy: subject.name,
                                     createdAt: now, expiresAt: expiresInSeconds.map { now.addingTimeInterval(TimeInterval($0)) })
        do {
            let client = try await system.connected()
            let result = try await client.put(try SystemKeys.accessKey(key.id), value: record.encoded(), condition: .absent)
            guard result.isWritten else { return .error(.internalError, "access key id \(key.id) is taken; try again") }
        } catch {
            return Self.failure("storing the new access key", error)
        }
        directory.remember(record)
        return .accessKeyCreated(id: key.id, secret: key.secret, record: record.encoded())
    }

    func list(for subject: Subject) async -> ClientResponse.Body {
        do {
            let records = try await SystemKeys.readAccessKeys(try await system.connected())
            return .accessKeys(records.filter { subject.grants.administers($0.accountGrants) }.map { $0.encoded() })
        } catch {
            return Self.failure("reading the access keys", error)
        }
    }

    func revoke(_ id: String, by subject: Subject) async -> ClientResponse.Body {
        guard AccessKey.isWellFormed(id: id) else {
            return .error(.badRequest, "\"\(id.prefix(80))\" is not an access key id (tk and 20 hex digits)")
        }
        do {
            let client = try await system.connected()
            let key = try SystemKeys.accessKey(id)
            // Read, check, then write only if nobody changed it meanwhile.
            for _ in 0..<5 {
                guard let item = try await client.get(key), var record = AccessKeyRecord.decode(item.value),
                      subject.grants.administers(record.accountGrants) else {
                    // Keys one may not administer look absent, so ids of other accounts' keys stay private.
                    return .error(.badRequest, "no access key \(id) among the keys \(subject.name) administers")
                }
                if record.isRevoked { return .accessKeys([record.encoded()]) }
                record.revokedAtSeconds = Int64(Date().timeIntervalSince1970)
                record.revokedBy = subject.name
                if try await client.put(key, value: record.encoded(), condition: .versionEquals(item.version)).isWritten {
                    directory.remember(record)
                    return .accessKeys([record.encoded()])
                }
            }
            return .error(.unavailable, "access key \(id) kept changing while it was being revoked; retry")
        } catch {
            return Self.failure("revoking access key \(id)", error)
        }
    }

    private static func failure(_ what: String, _ error: any Error) -> ClientResponse.Body {
        if let error = error as? TesseraClientError, case .internalError = error {
            return .error(.internalError, "\(what) failed: \(error)")
        }
        return .error(.unavailable, "\(what) failed: \(error); retry")
    }
}
