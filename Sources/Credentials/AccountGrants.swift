import Foundation
import Keyspace

/// What a principal may do in one account. `admin` includes `read` and
/// `write`, and also lets the principal make and revoke access keys for the account.
public struct Permissions: OptionSet, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = Permissions(rawValue: 1)
    public static let write = Permissions(rawValue: 2)
    public static let admin = Permissions(rawValue: 4)
    public static let all: Permissions = [.read, .write, .admin]

    /// `read`, `write`, `admin` (which implies the other two), comma-separated, or `rw`-style letters.
    public init(parsing text: String) throws(GrantError) {
        var permissions: Permissions = []
        let words = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        for word in words {
            switch word {
            case "read", "r": permissions.insert(.read)
            case "write", "w": permissions.insert(.write)
            case "admin", "a": permissions.formUnion(.all)
            case "rw": permissions.formUnion([.read, .write])
            case "read-write": permissions.formUnion([.read, .write])
            default: throw GrantError("permission \"\(word)\" is not read, write or admin")
            }
        }
        guard !permissions.isEmpty else { throw GrantError("no permission given: use read, write or admin") }
        self = permissions
    }

    public var names: [String] {
        [(Permissions.read, "read"), (.write, "write"), (.admin, "admin")].filter { contains($0.0) }.map(\.1)
    }

    public var description: String { isEmpty ? "nothing" : names.joined(separator: ",") }
}

/// The accounts a principal may touch, each with its permissions. The
/// account `*` stands for every account, except the cluster's own
/// (``systemAccount``), which only its members and a plaintext cluster's
/// clients reach.
public struct AccountGrants: Hashable, Sendable, CustomStringConvertible {
    public static let everyAccount = "*"
    /// Where the cluster keeps its access keys; a key in it cannot be named by users.
    public static let systemAccount = "tessera-system"

    public private(set) var byAccount: [String: Permissions]

    public init(_ byAccount: [String: Permissions] = [:]) {
        self.byAccount = byAccount.filter { !$0.value.isEmpty }
    }

    /// Admin of every account: what `tessera dev` gives its CLI, and a client certificate without grants.
    public static let adminOfEveryAccount = AccountGrants([everyAccount: .all])

    /// Parses `ACCOUNT[:PERMISSIONS]` (permissions default to read,write).
    public static func parse(_ grants: [String]) throws(GrantError) -> AccountGrants {
        var result: [String: Permissions] = [:]
        for text in grants {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let account = parts[0]
            let permissions = parts.count == 2 ? try Permissions(parsing: parts[1]) : [.read, .write]
            try validate(account: account)
            result[account, default: []].formUnion(permissions)
        }
        return AccountGrants(result)
    }

    /// An account a grant may name: a valid account name, or `*`; never the system account.
    public static func validate(account: String) throws(GrantError) {
        if account == everyAccount { return }
        if account == systemAccount { throw GrantError("account \(systemAccount) is the cluster's own and cannot be granted") }
        do { try Key.validateAccount(account) } catch { throw GrantError("\(error)") }
    }

    public func permissions(in account: String) -> Permissions {
        let own = byAccount[account] ?? []
        return account == Self.systemAccount ? own : own.union(byAccount[Self.everyAccount] ?? [])
    }

    public func allows(_ permission: Permissions, in account: String) -> Bool {
        permissions(in: account).isSuperset(of: permission)
    }

    /// Whether a holder of these grants may hand out (or take back) `other`:
    /// it must be admin of every account `other` names.
    public func administers(_ other: AccountGrants) -> Bool {
        other.byAccount.keys.allSatisfy { account in
            account == Self.everyAccount ? (byAccount[Self.everyAccount] ?? []).contains(.admin) : allows(.admin, in: account)
        }
    }

    public var isEmpty: Bool { byAccount.isEmpty }

    /// `acme:read,write b:admin`, accounts in order.
    public var description: String {
        isEmpty ? "no account" : byAccount.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
    }
}

/// A grant that does not parse or names what cannot be granted.
public struct GrantError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

import X509

extension AccountGrants {
    /// A client certificate's grants are subject alternative names of the form
    /// `tessera-grant:<account>:<permissions>` (URIs), signed by the cluster's CA:
    /// nodes need no lookup to authorize its holder. A client certificate without
    /// any may do nothing.
    static let uriScheme = "tessera-grant:"

    static func subjectAlternativeNames(_ grants: AccountGrants) -> [GeneralName] {
        grants.byAccount.sorted { $0.key < $1.key }.map { .uniformResourceIdentifier(uriScheme + "\($0.key):\($0.value)") }
    }

    public init(certificate: Certificate) {
        var grants: [String: Permissions] = [:]
        let names = (try? certificate.extensions.subjectAlternativeNames) ?? nil
        for case .uniformResourceIdentifier(let uri) in names ?? SubjectAlternativeNames() where uri.hasPrefix(Self.uriScheme) {
            let parts = uri.dropFirst(Self.uriScheme.count).split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, (try? Self.validate(account: parts[0])) != nil,
                  let permissions = try? Permissions(parsing: parts[1]) else { continue }
            grants[parts[0], default: []].formUnion(permissions)
        }
        self.init(grants)
    }
}
