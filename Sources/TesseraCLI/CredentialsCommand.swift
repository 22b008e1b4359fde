import ArgumentParser
import CommandSupport
import Credentials
import Foundation

/// `tessera credentials`: a cluster CA and the certificates of its members and clients.
struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "Make a cluster CA (once) and certificates for members and clients, in one folder.",
        discussion: """
            The folder gets ca.pem and ca-key.pem (the CA: keep ca-key.pem off the nodes),
            then member-<id>.pem and member-<id>-key.pem for each --member, and
            client-<name>.pem and client-<name>-key.pem for each --client. Existing files
            are kept: run it again to add members or clients with the same CA.
            Certificates are valid for --days (a year); the CA for ten.

            A client certificate carries its grants, signed by the CA: --grant
            ACCOUNT[:PERMISSIONS] (repeatable; permissions read, write, admin,
            comma-separated; default read,write;
            * stands for every account). Without --grant it is an operator's: admin of every account.

            Give each node its own pair and ca.pem:
              tessera serve --node-id n1 ... --tls-ca ca.pem --tls-cert member-n1.pem --tls-key member-n1-key.pem
            and each client its own:
              tessera get acme/users/rnd/alice --endpoint n1.example:7101 --tls-ca ca.pem --tls-cert client-app.pem --tls-key client-app-key.pem

            Examples:
              tessera credentials --folder ./pki --member n1 --member n2 --member n3 --client ops
              tessera credentials --folder ./pki --client app --grant acme --grant shared:read
              tessera credentials --folder .tessera/dev/credentials --client ops   # another client of a dev cluster
            """
    )

    @Option(help: "Folder for the CA and the certificates (created if missing; keys are readable by their owner only).")
    var folder: String

    @Option(name: .customLong("member"), help: "A member id to make a node certificate for (repeatable).")
    var members: [String] = []

    @Option(name: .customLong("client"), help: "A client name to make a client certificate for (repeatable).")
    var clients: [String] = []

    @Option(name: .customLong("grant"), help: ArgumentHelp(
        "ACCOUNT[:PERMISSIONS] the --client certificates grant (repeatable; default: admin of every account).",
        valueName: "account[:permissions]"))
    var grants: [String] = []

    @Option(help: "How many days the certificates made now are valid.")
    var days: Int = 365

    func validate() throws {
        guard !members.isEmpty || !clients.isEmpty else { throw ValidationError("give at least one --member or --client") }
        for name in members + clients where name.isEmpty { throw ValidationError("--member and --client need a name") }
        if !grants.isEmpty && clients.isEmpty { throw ValidationError("--grant applies to --client certificates: name one") }
        guard (1...3650).contains(days) else { throw ValidationError("--days must be 1 to 3650") }
        do { _ = try AccountGrants.parse(grants) } catch { throw ValidationError("--grant: \(error)") }
    }

    func run() throws {
        let credentials = CredentialFolder(path: folder)
        let wanted = members.map { PeerIdentity.member($0) } + clients.map { PeerIdentity.client($0) }
        let issued: [PeerIdentity]
        do {
            let clientGrants = grants.isEmpty ? AccountGrants.adminOfEveryAccount : try AccountGrants.parse(grants)
            issued = try credentials.ensure(wanted, caName: "Tessera CA", clientGrants: clientGrants,
                                            validFor: TimeInterval(days) * 86_400)
        } catch {
            throw commandFailure("cannot make credentials in \(folder): \(error)", status: ExitStatus.ioError)
        }
        writeLine("CA: \(credentials.certificateAuthorityPath)")
        for identity in wanted {
            let files = credentials.files(for: identity)
            let state = issued.contains(identity) ? "made" : "kept"
            let granting = if case .client = identity, issued.contains(identity) {
                " granting \(grants.isEmpty ? AccountGrants.adminOfEveryAccount : (try? AccountGrants.parse(grants)) ?? AccountGrants())"
            } else { "" }
            writeLine("\(identity): \(files.certificate) \(files.privateKey) (\(state))\(granting)")
        }
    }
}
