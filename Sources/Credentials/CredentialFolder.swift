import Foundation

/// A folder of credentials made from one CA: `ca.pem` and `ca-key.pem`, a
/// certificate and key per member (`member-<id>.pem`, `member-<id>-key.pem`)
/// and per client principal (`client-<name>.pem`, `client-<name>-key.pem`).
/// `tessera dev` keeps one in its data folder; the CLI and the Swift client
/// find the client credential there by default. Private keys are written
/// readable by their owner only.
public struct CredentialFolder: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var certificateAuthorityPath: String { path + "/ca.pem" }
    var certificateAuthorityKeyPath: String { path + "/ca-key.pem" }

    public func files(for identity: PeerIdentity) -> TLSCredentialFiles {
        let stem = switch identity {
        case .member(let id): "member-" + Self.fileSafe(id)
        case .client(let name): "client-" + Self.fileSafe(name)
        }
        return TLSCredentialFiles(certificateAuthority: certificateAuthorityPath, certificate: path + "/\(stem).pem",
                                  privateKey: path + "/\(stem)-key.pem")
    }

    /// Makes what is missing: the CA first (once; later runs reuse it), then a
    /// credential for each identity that has none. Returns the identities issued now.
    /// Client certificates carry `clientGrants` and all are valid for `validFor`.
    @discardableResult
    public func ensure(_ identities: [PeerIdentity], caName: String = "Tessera dev CA",
                       clientGrants: AccountGrants = .adminOfEveryAccount,
                       validFor: TimeInterval = 365 * 86_400, now: Date = Date()) throws -> [PeerIdentity] {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let authority: CertificateAuthority
        if FileManager.default.fileExists(atPath: certificateAuthorityPath) {
            authority = try CertificateAuthority(certificatePEM: try TLSCredentialFiles.read(certificateAuthorityPath),
                                                 privateKeyPEM: try TLSCredentialFiles.read(certificateAuthorityKeyPath))
        } else {
            authority = try CertificateAuthority.generate(name: caName)
            try write(try authority.privateKeyPEM, to: certificateAuthorityKeyPath, secret: true)
            try write(try authority.certificatePEM, to: certificateAuthorityPath, secret: false)
        }
        var issued: [PeerIdentity] = []
        for identity in identities {
            let files = files(for: identity)
            guard !FileManager.default.fileExists(atPath: files.certificate) else { continue }
            let credential = try authority.issue(identity, grants: clientGrants, now: now, validFor: validFor)
            try write(credential.privateKeyPEM, to: files.privateKey, secret: true)
            try write(credential.certificatePEM, to: files.certificate, secret: false)
            issued.append(identity)
        }
        return issued
    }

    private func write(_ text: String, to path: String, secret: Bool) throws {
        let created = FileManager.default.createFile(atPath: path, contents: Data(text.utf8),
                                                     attributes: [.posixPermissions: secret ? 0o600 : 0o644])
        guard created else { throw CredentialError(file: path, problem: "could not be written") }
    }

    /// Ids and names as file names: anything but letters, digits, `-`, `_` and `.` becomes `_`.
    static func fileSafe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }
}
