import Crypto
import Foundation

/// An access key: a public id and a secret, what a client without a
/// certificate proves itself with. Nodes keep only the secret's SHA-256 (the
/// secret is 256 random bits, so a plain hash cannot be reversed by guessing).
public struct AccessKey: Hashable, Sendable {
    public let id: String
    public let secret: String

    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// A new key: `tk` and 20 hex digits, and 64 hex digits of secret.
    public static func generate() -> AccessKey {
        var random = SystemRandomNumberGenerator()
        let idBytes = (0..<10).map { _ in UInt8.random(in: 0...255, using: &random) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        return AccessKey(id: idPrefix + hex(idBytes), secret: hex(secretBytes))
    }

    static let idPrefix = "tk"
    public static let idBytesMaximum = 64
    public static let secretBytesMaximum = 256

    /// Whether `id` looks like an access key id (what `auth revoke` takes).
    public static func isWellFormed(id: String) -> Bool {
        id.hasPrefix(idPrefix) && id.utf8.count == idPrefix.utf8.count + 20
            && id.dropFirst(idPrefix.count).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    public var secretDigest: String { Self.digest(ofSecret: secret) }

    public static func digest(ofSecret secret: String) -> String {
        hex(Array(SHA256.hash(data: Array(secret.utf8))))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// What the cluster stores of an access key (as JSON, in the system account):
/// its grants, the secret's digest, and its life.
public struct AccessKeyRecord: Codable, Hashable, Sendable {
    public var id: String
    public var secretSHA256: String
    /// Account → permission names, as `tessera auth list --json` shows them.
    public var grants: [String: [String]]
    public var createdBy: String
    public var createdAtSeconds: Int64
    public var expiresAtSeconds: Int64?
    public var revokedAtSeconds: Int64?
    public var revokedBy: String?

    public init(id: String, secretSHA256: String, grants: AccountGrants, createdBy: String, createdAt: Date,
                expiresAt: Date?) {
        self.id = id
        self.secretSHA256 = secretSHA256
        self.grants = grants.byAccount.mapValues(\.names)
        self.createdBy = createdBy
        createdAtSeconds = Int64(createdAt.timeIntervalSince1970)
        expiresAtSeconds = expiresAt.map { Int64($0.timeIntervalSince1970.rounded(.up)) }
    }

    /// The grants, read back; a permission name this version does not know grants nothing.
    public var accountGrants: AccountGrants {
        AccountGrants(grants.mapValues { names in
            names.reduce(into: Permissions()) { permissions, name in
                if let parsed = try? Permissions(parsing: name) { permissions.formUnion(parsed) }
            }
        })
    }

    public func isExpired(at now: Date) -> Bool {
        expiresAtSeconds.map { now.timeIntervalSince1970 >= Double($0) } ?? false
    }

    public var isRevoked: Bool { revokedAtSeconds != nil }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try! encoder.encode(self))
    }

    /// Decodes a stored record; nil for bytes that are not one.
    public static func decode(_ bytes: [UInt8]) -> AccessKeyRecord? {
        try? JSONDecoder().decode(AccessKeyRecord.self, from: Data(bytes))
    }
}
