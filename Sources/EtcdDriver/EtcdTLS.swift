import NIOSSL

/// The client TLS an etcd member run with `--cert-file`, `--key-file`,
/// `--trusted-ca-file` and `--client-cert-auth` expects: TLS 1.3, ALPN
/// "h2" (gRPC), the CA alone trusted, and a client certificate.
public enum EtcdTLS {
    public static func clientContext(certificateAuthority: String, certificate: String, privateKey: String) throws
        -> NIOSSLContext
    {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.trustRoots = .file(certificateAuthority)
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
        configuration.privateKey = .file(privateKey)
        configuration.applicationProtocols = ["h2"]
        return try NIOSSLContext(configuration: configuration)
    }
}
