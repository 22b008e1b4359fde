import Client
import Credentials
import Keyspace

/// A node's own client of its cluster, for what it keeps in the system
/// account (access keys). It authenticates as the member it is (its node
/// certificate), which reaches the system account and nothing else. Made on
/// first use, so a cluster that never uses access keys never opens it.
actor SystemClient {
    private let endpoints: [String]
    private var tls: TLSCredentials?
    private var client: TesseraClient?
    private var closed = false

    init(endpoints: [String], tls: TLSCredentials?) {
        self.endpoints = endpoints
        self.tls = tls
    }

    func connected() async throws -> TesseraClient {
        if let client { return client }
        guard !closed else { throw TesseraClientError.unavailable("the node is stopping") }
        var options = ClientOptions()
        options.tls = tls
        options.deadline = .seconds(5)
        let made = try await TesseraClient(endpoints: endpoints, options: options)
        if let client {
            await made.close()
            return client
        }
        client = made
        return made
    }

    /// New credentials (reloaded): the next use connects with them.
    func replaceCredentials(_ credentials: TLSCredentials) async {
        tls = credentials
        await client?.close()
        client = nil
    }

    func close() async {
        closed = true
        await client?.close()
        client = nil
    }
}

/// Where the system account keeps what: every access key record in one
/// collection (so one query lists them), its id as the sort key.
enum SystemKeys {
    static let accessKeys = try! Key(account: AccountGrants.systemAccount, resource: "auth", type: .rnd,
                                     primaryKey: Array("access-keys".utf8))

    static func accessKey(_ id: String) throws -> Key { try accessKeys.withSortKey(Array(id.utf8)) }

    /// Every record, page by page; bytes that are not a record are skipped.
    static func readAccessKeys(_ client: TesseraClient) async throws -> [AccessKeyRecord] {
        var records: [AccessKeyRecord] = []
        var after: [UInt8]?
        repeat {
            let page = try await client.query(accessKeys, limit: 1000, after: after)
            records += page.items.compactMap { AccessKeyRecord.decode($0.value) }
            after = page.continuation
        } while after != nil
        return records
    }
}
