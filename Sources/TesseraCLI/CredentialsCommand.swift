import ArgumentParser
import CommandSupport
import Credentials

/// `tessera credentials`: a cluster CA and the certificates of its members and clients.
struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "Make a cluster CA (once) and certificates for members and clients, in one folder.",
        discussion: """
            The folder gets ca.pem and ca-key.pem (the CA: keep ca-key.pem off the nodes), then
            member-<id>.pem and member-<id>-key.pem for each --member, and client-<name>.pem and
            client-<name>-key.pem for each --client. Existing files are kept: run it again to add
            members or clients with the same CA. Certificates are valid for a year; the CA for ten.

            Give each node its own pair and ca.pem:
              tessera serve --node-id n1 ... --tls-ca ca.pem --tls-cert member-n1.pem --tls-key member-n1-key.pem
            and each client its own:
              tessera get acme/users/rnd/alice --endpoint n1.example:7101 --tls-ca ca.pem --tls-cert client-app.pem --tls-key client-app-key.pem

            Examples:
              tessera credentials --folder ./pki --member n1 --member n2 --member n3 --client app
              tessera credentials --folder .tessera/dev/credentials --client ops   # another client of a dev cluster
            """
    )

    @Option(help: "Folder for the CA and the certificates (created if missing; keys are readable by their owner only).")
    var folder: String

    @Option(name: .customLong("member"), help: "A member id to make a node certificate for (repeatable).")
    var members: [String] = []

    @Option(name: .customLong("client"), help: "A client name to make a client certificate for (repeatable).")
    var clients: [String] = []

    func validate() throws {
        guard !members.isEmpty || !clients.isEmpty else { throw ValidationError("give at least one --member or --client") }
        for name in members + clients where name.isEmpty { throw ValidationError("--member and --client need a name") }
    }

    func run() throws {
        let credentials = CredentialFolder(path: folder)
        let wanted = members.map { PeerIdentity.member($0) } + clients.map { PeerIdentity.client($0) }
        let issued: [PeerIdentity]
        do {
            issued = try credentials.ensure(wanted, caName: "Tessera CA")
        } catch {
            throw commandFailure("cannot make credentials in \(folder): \(error)", status: ExitStatus.ioError)
        }
        writeLine("CA: \(credentials.certificateAuthorityPath)")
        for identity in wanted {
            let files = credentials.files(for: identity)
            let state = issued.contains(identity) ? "made" : "kept"
            writeLine("\(identity): \(files.certificate) \(files.privateKey) (\(state))")
        }
    }
}
