import ArgumentParser
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

    public func validate() throws {
        if !given.isEmpty && list.isEmpty { throw ValidationError("--endpoint needs HOST:PORT") }
    }
}
