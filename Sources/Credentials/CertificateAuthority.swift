import Crypto
import Foundation
import SwiftASN1
import X509

/// A cluster's certificate authority: it signs the certificates of nodes and
/// clients, and every link trusts it alone. `tessera dev` makes one in its
/// data folder; a cluster in production may use its own CA instead (the
/// certificates only need the subject names of ``PeerIdentity``).
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    let privateKey: Certificate.PrivateKey

    /// A new CA with a new P-256 key, valid from a few minutes ago (clocks differ) for `validFor`.
    public static func generate(name: String, now: Date = Date(), validFor: TimeInterval = 10 * 365 * 86_400) throws
        -> CertificateAuthority
    {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName { CommonName(name) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validFor),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: key)
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// The CA read back from its PEM files' contents.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        certificate = try Certificate(pemEncoded: certificatePEM)
        privateKey = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
    }

    init(certificate: Certificate, privateKey: Certificate.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    public var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }
    public var privateKeyPEM: String { get throws { try privateKey.serializeAsPEM().pemString } }

    /// A certificate and key for `identity`, signed by this CA, usable on both
    /// ends of a link (a node dials its peers and accepts them). A client's
    /// certificate carries its `grants` (see ``AccountGrants/init(certificate:)``).
    public func issue(_ identity: PeerIdentity, grants: AccountGrants = .adminOfEveryAccount, now: Date = Date(),
                      validFor: TimeInterval = 365 * 86_400) throws -> IssuedCredential
    {
        let grantNames: [GeneralName] = if case .client = identity { AccountGrants.subjectAlternativeNames(grants) } else { [] }
        return try issue(commonName: identity.commonName, alternativeNames: grantNames, now: now, validFor: validFor)
    }

    /// A certificate for a server that clients reach by address and check
    /// by it (the TLS benchmark's etcd): the addresses go in as IP
    /// subject alternative names.
    public func issue(commonName: String, ipv4Addresses: [String], now: Date = Date(),
                      validFor: TimeInterval = 365 * 86_400) throws -> IssuedCredential {
        let names: [GeneralName] = ipv4Addresses.map { address in
            .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.split(separator: ".").compactMap { UInt8($0) })))
        }
        return try issue(commonName: commonName, alternativeNames: names, now: now, validFor: validFor)
    }

    private func issue(commonName: String, alternativeNames: [GeneralName], now: Date, validFor: TimeInterval) throws
        -> IssuedCredential
    {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validFor),
            issuer: self.certificate.subject, subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                if !alternativeNames.isEmpty { SubjectAlternativeNames(alternativeNames) }
            },
            issuerPrivateKey: privateKey)
        return IssuedCredential(certificatePEM: try certificate.serializeAsPEM().pemString,
                                privateKeyPEM: try key.serializeAsPEM().pemString)
    }
}

/// A certificate and its private key, as PEM text.
public struct IssuedCredential: Sendable {
    public var certificatePEM: String
    public var privateKeyPEM: String
}
