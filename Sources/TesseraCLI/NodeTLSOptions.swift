import ArgumentParser
import CommandSupport
import Credentials

/// How `tessera serve` secures its links.
struct NodeTLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-ca"), help: "The cluster CA's certificate (PEM): the only one this node's links trust.")
    var certificateAuthority: String?

    @Option(name: .customLong("tls-cert"), help: "This node's certificate (PEM), signed by the CA for member:<node-id>. Replace the files and send SIGHUP (or just wait 2 s) to reload them without a restart.")
    var certificate: String?

    @Option(name: .customLong("tls-key"), help: "This node's private key (PEM).")
    var privateKey: String?

    @Flag(name: .customLong("insecure-plaintext"),
          help: "Run without TLS: anyone who reaches the port can act as a peer or a client. Logged at every start.")
    var insecurePlaintext = false

    /// The node's credentials, checked; nil with --insecure-plaintext.
    func credentials(nodeID: String) throws -> TLSCredentials? {
        let paths = [certificateAuthority, certificate, privateKey]
        if insecurePlaintext {
            guard paths.allSatisfy({ $0 == nil }) else {
                throw commandFailure("--insecure-plaintext and --tls-ca/--tls-cert/--tls-key exclude each other", status: ExitStatus.badInput)
            }
            return nil
        }
        guard let certificateAuthority, let certificate, let privateKey else {
            throw commandFailure(
                "give --tls-ca, --tls-cert and --tls-key (a certificate the cluster's CA made for member:\(nodeID);"
                    + " `tessera dev` makes them, see the README's \"Security\"), or --insecure-plaintext to run without TLS",
                status: ExitStatus.badInput)
        }
        let loaded: TLSCredentials
        do {
            loaded = try TLSCredentialFiles(certificateAuthority: certificateAuthority, certificate: certificate,
                                            privateKey: privateKey).load()
        } catch {
            throw commandFailure("\(error)", status: ExitStatus.badInput)
        }
        guard loaded.identity == .member(nodeID) else {
            throw commandFailure("--tls-cert \(certificate) names \(loaded.identity.map { "\($0)" } ?? "no identity"), not member \(nodeID)", status: ExitStatus.badInput)
        }
        return loaded
    }
}
