import Credentials

/// What a client connection presented when it said hello.
enum ConnectionCredential: Sendable {
    /// Over TLS, neither a client certificate nor an access key: every request is refused.
    case none
    /// Who the connection is for as long as it lasts: a client certificate of
    /// the cluster's CA (with the grants it carries), a member of this cluster
    /// (its own system client), or anyone on a cluster run with `--insecure-plaintext`.
    case fixed(Subject)
    /// An access key, checked at every request (it may be revoked or expire);
    /// the secret itself is not kept, only its digest.
    case accessKey(id: String, secretDigest: String)
}

/// Who a request comes from, once its credential is checked, and what it may do.
struct Subject: Sendable {
    /// How messages and logs name it: "client app", "access key tk…", "member n1".
    var name: String
    var grants: AccountGrants

    static let plaintext = Subject(name: "an unauthenticated client (plaintext cluster)",
                                   grants: AccountGrants([AccountGrants.everyAccount: .all, AccountGrants.systemAccount: .all]))

    /// A member reads and writes every account, for the host calls of the
    /// programs it runs (each confined by the host to its caller's account);
    /// it holds every account's data anyway. It administers only the system
    /// account: a node's certificate cannot make access keys for users.
    static func member(_ id: String) -> Subject {
        Subject(name: "member \(id)", grants: AccountGrants([AccountGrants.systemAccount: .all,
                                                               AccountGrants.everyAccount: [.read, .write]]))
    }

    static func certificate(_ name: String, grants: AccountGrants) -> Subject {
        Subject(name: "client \(name)", grants: grants)
    }

    /// Nil when allowed, else why not (naming the account).
    func refusal(_ permission: Permissions, in account: String) -> String? {
        guard !grants.allows(permission, in: account) else { return nil }
        let verb = permission.contains(.admin) ? "administer" : permission.contains(.write) ? "write" : "read"
        let granted = grants.permissions(in: account)
        let detail = granted.isEmpty ? "it has no grant on account \(account)" : "on account \(account) it may only \(granted)"
        return "\(name) may not \(verb) account \(account): \(detail)"
    }
}
