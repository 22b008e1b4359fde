import ArgumentParser
import Client
import CommandSupport
import Foundation

/// `tessera auth`: who this client is, and the cluster's access keys.
struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "Access keys: make, list and revoke them; show who you are.",
        discussion: """
            A client proves who it is with a client certificate of the cluster's CA (what
            `tessera dev` gives this CLI: admin of every account) or with an access key.
            An access key is granted accounts, each with permissions (read, write, admin);
            a principal makes keys only for accounts it administers. Keys are stored
            replicated in the cluster's system account; the secret is shown once.

            Use a key with --access-key-id ID (or $TESSERA_ACCESS_KEY_ID) and the secret \
            in $TESSERA_ACCESS_KEY_SECRET. A revoked key is refused by every node within \
            \(TesseraClient.revocationSeconds) seconds of the revocation's answer, on \
            connections already open too. Refusals exit 80 (not authenticated) or 77 \
            (forbidden).

            Examples:
              tessera auth create-key acme                    # read and write acme
              tessera auth create-key acme shared --read-only
              tessera auth create-key acme --admin --expires-in 3600
              tessera auth list
              tessera auth revoke tk0123456789abcdef0123
              TESSERA_ACCESS_KEY_ID=tk... TESSERA_ACCESS_KEY_SECRET=... tessera get acme/users/rnd/alice
            """,
        subcommands: [CreateKey.self, List.self, Revoke.self, WhoAmI.self]
    )

    struct CreateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-key", abstract: "Make an access key for one or more accounts; print its id and secret.")

        @Argument(help: "Accounts the key may use (* for every account).")
        var accounts: [String]

        @Flag(help: "The key may only read.")
        var readOnly = false

        @Flag(help: "The key may also make and revoke keys for these accounts.")
        var admin = false

        @Option(help: "The key stops working this many seconds from now (default: never).")
        var expiresIn: UInt64?

        @OptionGroup var endpoint: EndpointOptions

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func validate() throws {
            guard !accounts.isEmpty else { throw ValidationError("name at least one account") }
            if readOnly && admin { throw ValidationError("--read-only and --admin exclude each other") }
            if expiresIn == 0 { throw ValidationError("--expires-in must be at least 1 second") }
        }

        func run() async throws {
            let permissions: Permissions = readOnly ? .read : admin ? .all : [.read, .write]
            var grants: [String: Permissions] = [:]
            for account in accounts {
                do { try AccountGrants.validate(account: account) } catch {
                    throw commandFailure("\(error)", status: ExitStatus.badInput)
                }
                grants[account] = permissions
            }
            let created = try await withCluster(endpoint) { client in
                try await client.createAccessKey(grants: AccountGrants(grants), expiresIn: expiresIn.map { .seconds($0) })
            }
            if json {
                writeLine(encodeJSON(CreatedKey(id: created.key.id, secret: created.key.secret, record: created.record)))
            } else {
                writeLine("id      \(created.key.id)")
                writeLine("secret  \(created.key.secret)")
                writeLine("grants  \(created.record.accountGrants)")
                if let expiry = created.record.expiresAtSeconds { writeLine("expires \(AuthCommand.time(expiry))") }
                printToStandardError("The secret is not stored and cannot be shown again. Use the key with:\n  export \(EndpointOptions.idVariable)=\(created.key.id) \(EndpointOptions.secretVariable)=<secret>")
            }
        }

        struct CreatedKey: Encodable {
            var id: String
            var secret: String
            var record: AccessKeyRecord
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the access keys of the accounts you administer.")

        @OptionGroup var endpoint: EndpointOptions

        @Flag(help: "Print JSON (one array of records) instead of text.")
        var json = false

        func run() async throws {
            let records = try await withCluster(endpoint) { try await $0.listAccessKeys() }
            if json { return writeLine(encodeJSON(records)) }
            var rows = [["ID", "GRANTS", "CREATED BY", "CREATED", "EXPIRES", "STATE"]]
            let now = Date()
            for record in records {
                let state = record.isRevoked ? "revoked" : record.isExpired(at: now) ? "expired" : "active"
                rows.append([record.id, "\(record.accountGrants)", record.createdBy, AuthCommand.time(record.createdAtSeconds),
                             record.expiresAtSeconds.map(AuthCommand.time) ?? "never", state])
            }
            writeStandardOutput(records.isEmpty ? "no access keys\n" : TextTable.render(rows))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an access key: every node refuses it within \(TesseraClient.revocationSeconds) seconds.")

        @Argument(help: "The key's id (tk...).")
        var id: String

        @OptionGroup var endpoint: EndpointOptions

        func run() async throws {
            let record = try await withCluster(endpoint) { try await $0.revokeAccessKey(id: id) }
            writeLine("revoked \(record.id) at \(record.revokedAtSeconds.map(AuthCommand.time) ?? "?")")
        }
    }

    struct WhoAmI: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show who your credentials say you are, and your grants.")

        @OptionGroup var endpoint: EndpointOptions

        func run() async throws {
            let (principal, grants) = try await withCluster(endpoint) { try await $0.whoAmI() }
            writeLine(principal)
            for (account, permissions) in grants.byAccount.sorted(by: { $0.key < $1.key }) {
                writeLine("  \(account): \(permissions)")
            }
        }
    }

    static func time(_ seconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

/// Connects per the endpoint options, runs `body`, closes; client errors become exit statuses.
