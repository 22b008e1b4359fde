import ArgumentParser
import Client
import Foundation

/// `--endpoint`: the cluster nodes to ask, repeatable or comma-separated.
public struct EndpointOptions: ParsableArguments {
    public init() {}

    @Option(
        name: .customLong("endpoint"),
        help: ArgumentHelp(
            "HOST:PORT of a cluster node; repeat it or give a comma-separated list (default: the `tessera dev` cluster in ./.tessera, else 127.0.0.1:\(DevCluster.defaultBasePort)).",
            valueName: "host:port"))
    public var given: [String] = []

    /// Every endpoint given, split at commas, blanks dropped.
    public var list: [String] {
        given.flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// The endpoints to use: those given, else the dev cluster's.
    public var resolved: (endpoints: [String], isDefault: Bool) {
        let list = list
        return list.isEmpty ? (DevCluster.defaultEndpoints(), true) : (list, false)
    }

    @Option(name: .customLong("tls-ca"), help: "The cluster CA's certificate (PEM), for a cluster whose links are TLS.")
    public var certificateAuthority: String?

    @Option(name: .customLong("tls-cert"), help: "This client's certificate (PEM), made by the cluster's CA for client:<name>.")
    public var certificate: String?

    @Option(name: .customLong("tls-key"), help: "This client's private key (PEM).")
    public var privateKey: String?

    public func validate() throws {
        if !given.isEmpty && list.isEmpty { throw ValidationError("--endpoint needs HOST:PORT") }
        let tls = [certificateAuthority, certificate, privateKey].compactMap { $0 }
        if !tls.isEmpty && tls.count != 3 { throw ValidationError("--tls-ca, --tls-cert and --tls-key go together: give all three") }
    }

    /// The client's TLS credentials, checked: those given, else (without
    /// --endpoint) the dev cluster's in ./.tessera; nil for a plaintext cluster.
    public func clientTLS() throws -> TLSCredentials? {
        let files: TLSCredentialFiles
        if let certificateAuthority, let certificate, let privateKey {
            files = TLSCredentialFiles(certificateAuthority: certificateAuthority, certificate: certificate, privateKey: privateKey)
        } else if given.isEmpty, let dev = DevCluster.defaultClientCredentials() {
            files = dev
        } else {
            return nil
        }
        do {
            return try files.load()
        } catch {
            throw commandFailure("\(error)", status: ExitStatus.badInput)
        }
    }
}
