import Credentials
import Foundation
import Placement

/// The Swift client's default credentials, as the CLI's: when a client is
/// given neither TLS credentials nor an access key, and its endpoints are
/// members of the `tessera dev` cluster whose folder is ./.tessera, it uses
/// that cluster's CA and client certificate (`client:dev`, admin of every
/// account). Any other cluster gets what the options say.
enum DevClusterCredentials {
    static let dataDirectory = ".tessera"

    static func find(for seeds: [Endpoint], dataDirectory: String = dataDirectory) -> TLSCredentials? {
        let folder = dataDirectory + "/dev"
        guard let data = FileManager.default.contents(atPath: folder + "/members.json"),
              let members = try? JSONDecoder().decode([Member].self, from: data) else { return nil }
        let addresses = Set(members.compactMap { Endpoint($0.address) })
        // `tessera dev --insecure-plaintext` leaves this file while it runs without TLS.
        guard seeds.contains(where: addresses.contains),
              !FileManager.default.fileExists(atPath: folder + "/insecure-plaintext") else { return nil }
        let files = CredentialFolder(path: folder + "/credentials").files(for: .client("dev"))
        return try? files.load()
    }
}
