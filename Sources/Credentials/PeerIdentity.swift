import X509

/// Who a certificate says its holder is: a member of the cluster (a node) or
/// a client principal. The subject's common name carries it as
/// `member:<id>` or `client:<principal>`, so one CA can sign both and a
/// client certificate can never pass for a node.
public enum PeerIdentity: Hashable, Sendable, CustomStringConvertible {
    case member(String)
    case client(String)

    static let memberPrefix = "member:"
    static let clientPrefix = "client:"

    public var commonName: String {
        switch self {
        case .member(let id): Self.memberPrefix + id
        case .client(let principal): Self.clientPrefix + principal
        }
    }

    public var description: String {
        switch self {
        case .member(let id): "member \(id)"
        case .client(let principal): "client \(principal)"
        }
    }

    /// The identity a certificate's subject names; nil when it names none of ours.
    public init?(certificate: Certificate) {
        let names = certificate.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }
        guard let name = names.last.flatMap({ String($0.value) }) else { return nil }
        self.init(commonName: name)
    }

    public init?(commonName: String) {
        if commonName.hasPrefix(Self.memberPrefix), commonName.count > Self.memberPrefix.count {
            self = .member(String(commonName.dropFirst(Self.memberPrefix.count)))
        } else if commonName.hasPrefix(Self.clientPrefix), commonName.count > Self.clientPrefix.count {
            self = .client(String(commonName.dropFirst(Self.clientPrefix.count)))
        } else {
            return nil
        }
    }
}
