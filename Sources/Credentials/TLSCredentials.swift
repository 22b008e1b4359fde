import Foundation
import NIOSSL
import X509

/// Where a node's or a client's credentials are: the cluster CA's
/// certificate (the only one its links trust), and its own certificate and key.
public struct TLSCredentialFiles: Sendable, Hashable {
    public var certificateAuthority: String
    public var certificate: String
    public var privateKey: String

    public init(certificateAuthority: String, certificate: String, privateKey: String) {
        self.certificateAuthority = certificateAuthority
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// Reads and checks the files: each parses, the certificate is the CA's
    /// and valid now, and it names one of our identities.
    public func load(now: Date = Date()) throws(CredentialError) -> TLSCredentials {
        let caPEM = try Self.read(certificateAuthority)
        let certificatePEM = try Self.read(certificate)
        let keyPEM = try Self.read(privateKey)
        let ca: Certificate
        let own: Certificate
        do { ca = try Certificate(pemEncoded: caPEM) } catch {
            throw CredentialError(file: certificateAuthority, problem: "is not a PEM certificate (\(error))")
        }
        do { own = try Certificate(pemEncoded: certificatePEM) } catch {
            throw CredentialError(file: certificate, problem: "is not a PEM certificate (\(error))")
        }
        guard ca.publicKey.isValidSignature(own.signature, for: own) else {
            throw CredentialError(file: certificate, problem: "is not signed by the CA in \(certificateAuthority)")
        }
        guard own.notValidBefore <= now, now <= own.notValidAfter else {
            throw CredentialError(file: certificate, problem: "is valid from \(own.notValidBefore) to \(own.notValidAfter), not now",
                                  isOutOfDate: true)
        }
        guard let identity = PeerIdentity(certificate: own) else {
            throw CredentialError(file: certificate, problem: "names no Tessera identity: its subject's common name must be member:<id> or client:<name>")
        }
        do {
            return TLSCredentials(
                trustRoot: try NIOSSLCertificate(bytes: Array(caPEM.utf8), format: .pem),
                chain: try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)),
                privateKey: try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem),
                identity: identity, notValidAfter: own.notValidAfter, files: self)
        } catch {
            throw CredentialError(file: privateKey, problem: "does not load as a PEM private key (\(error))")
        }
    }

    static func read(_ path: String) throws(CredentialError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CredentialError(file: path, problem: FileManager.default.fileExists(atPath: path) ? "is not readable" : "does not exist")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Credentials loaded and checked, ready to make TLS contexts from.
public struct TLSCredentials: Sendable {
    let trustRoot: NIOSSLCertificate
    let chain: [NIOSSLCertificate]
    let privateKey: NIOSSLPrivateKey?
    /// Who the certificate names; nil for credentials that only trust the CA.
    public let identity: PeerIdentity?
    public let notValidAfter: Date
    public let files: TLSCredentialFiles

    /// The listening side: TLS 1.3, the CA alone trusted. A certificate a
    /// client presents must be the CA's; a client may also come without one
    /// and prove itself with an access key, so presenting one is not required
    /// here (a peer's identity is checked after its hello).
    public func serverContext() throws -> NIOSSLContext {
        guard let privateKey else { throw CredentialError(file: files.certificateAuthority, problem: "holds no certificate to serve with") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv13
        configuration.trustRoots = .certificates([trustRoot])
        configuration.certificateVerification = .optionalVerification
        return try NIOSSLContext(configuration: configuration)
    }

    /// The dialing side: presents this certificate and trusts the CA alone.
    /// The peer's name is checked against the member it should be, not against
    /// a host name (members are named by id, and dialed by address).
    public func clientContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.trustRoots = .certificates([trustRoot])
        if let privateKey {
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(privateKey)
        }
        configuration.certificateVerification = .noHostnameVerification
        return try NIOSSLContext(configuration: configuration)
    }

    /// What a verified client certificate grants (DER from the handshake).
    public static func grants(ofPeerCertificate der: [UInt8]) -> AccountGrants {
        (try? Certificate(derEncoded: der)).map(AccountGrants.init(certificate:)) ?? AccountGrants()
    }

    /// The identity a verified peer certificate names (DER from the handshake).
    public static func identity(ofPeerCertificate der: [UInt8]) -> PeerIdentity? {
        (try? Certificate(derEncoded: der)).flatMap(PeerIdentity.init(certificate:))
    }
}

extension TLSCredentials {
    /// Only the CA, for a client that proves itself with an access key
    /// rather than a certificate: it still checks that it talks to members.
    public static func trustingOnly(certificateAuthority path: String) throws(CredentialError) -> TLSCredentials {
        let caPEM = try TLSCredentialFiles.read(path)
        do {
            _ = try Certificate(pemEncoded: caPEM)
            return TLSCredentials(trustRoot: try NIOSSLCertificate(bytes: Array(caPEM.utf8), format: .pem), chain: [],
                                  privateKey: nil, identity: nil, notValidAfter: .distantFuture,
                                  files: TLSCredentialFiles(certificateAuthority: path, certificate: "", privateKey: ""))
        } catch {
            throw CredentialError(file: path, problem: "is not a PEM certificate (\(error))")
        }
    }
}

/// A credential file that is missing, unreadable or not what it must be.
public struct CredentialError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let problem: String
    /// The certificate has expired (or is not valid yet): the credential is
    /// well formed, only its time is wrong.
    public let isOutOfDate: Bool

    public init(file: String, problem: String, isOutOfDate: Bool = false) {
        self.file = file
        self.problem = problem
        self.isOutOfDate = isOutOfDate
    }

    public var description: String { "TLS credential \(file) \(problem)" }
}
