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

    @Option(
        name: .customLong("access-key-id"),
        help: ArgumentHelp(
            "An access key id (from `tessera auth create-key`) to authenticate with instead of a client certificate; its secret comes from $\(Self.secretVariable) (default: $\(Self.idVariable)).",
            valueName: "id"))
    public var accessKeyID: String?

    @Option(
        name: .customLong("access-key-secret"),
        help: ArgumentHelp(
            "The access key's secret. Prefer $\(Self.secretVariable): a flag shows in the process list.", valueName: "secret"))
    public var accessKeySecret: String?

    public static let idVariable = "TESSERA_ACCESS_KEY_ID"
    public static let secretVariable = "TESSERA_ACCESS_KEY_SECRET"

    public func validate() throws {
        if !given.isEmpty && list.isEmpty { throw ValidationError("--endpoint needs HOST:PORT") }
        if (certificate == nil) != (privateKey == nil) { throw ValidationError("--tls-cert and --tls-key go together: give both") }
        if certificate != nil && certificateAuthority == nil { throw ValidationError("--tls-cert needs --tls-ca (the cluster CA that signed it)") }
    }

    /// The access key given (--access-key-id or its variable, and the secret's variable).
    public func accessKey(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AccessKey? {
        let id = accessKeyID ?? environment[Self.idVariable].flatMap { $0.isEmpty ? nil : $0 }
        let secret = accessKeySecret ?? environment[Self.secretVariable].flatMap { $0.isEmpty ? nil : $0 }
        switch (id, secret) {
        case (nil, nil): return nil
        case (let id?, let secret?): return AccessKey(id: id, secret: secret)
        case (nil, _?): throw commandFailure("$\(Self.secretVariable) is set but no access key id: give --access-key-id or set $\(Self.idVariable)", status: ExitStatus.badInput)
        case (let id?, nil): throw commandFailure("access key \(id) needs its secret in $\(Self.secretVariable) (or --access-key-secret)", status: ExitStatus.badInput)
        }
    }

    /// How to reach and authenticate to the cluster: the TLS credentials and
    /// access key given, else (without --endpoint) the dev cluster's in
    /// ./.tessera; plaintext when there are none.
    public func clientOptions() throws -> ClientOptions {
        var options = ClientOptions()
        options.accessKey = try accessKey()
        options.tls = try clientTLS(trustOnly: options.accessKey != nil)
        return options
    }

    /// With `trustOnly` (an access key is the identity) only the CA is loaded.
    func clientTLS(trustOnly: Bool) throws -> TLSCredentials? {
        // The dev cluster's credentials serve its own members: by default, or when --endpoint names one.
        let dev = given.isEmpty || DevCluster.isMember(list) ? DevCluster.defaultClientCredentials() : nil
        if certificateAuthority != nil && certificate == nil && !trustOnly {
            throw commandFailure("--tls-ca alone does not authenticate this client: add --tls-cert and --tls-key, or an access key (--access-key-id and $\(Self.secretVariable))", status: ExitStatus.badInput)
        }
        do {
            if let certificateAuthority, let certificate, let privateKey {
                return try TLSCredentialFiles(certificateAuthority: certificateAuthority, certificate: certificate,
                                              privateKey: privateKey).load()
            }
            if trustOnly, let ca = certificateAuthority ?? dev?.certificateAuthority {
                return try TLSCredentials.trustingOnly(certificateAuthority: ca)
            }
            return try dev?.load()
        } catch where error.isOutOfDate {
            // Refused as a node would refuse it, with the same exit status.
            throw commandFailure("not authenticated: \(error)", status: ExitStatus.unauthenticated)
        } catch {
            throw commandFailure("\(error)", status: ExitStatus.badInput)
        }
    }
}
