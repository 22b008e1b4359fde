import Credentials
import Wire

/// Who this client is, and access keys: `tessera auth`. These go to one node
/// (any will do); it checks the caller's grants and keeps the keys replicated
/// in the cluster's system account.
extension TesseraClient {
    /// The principal this client's credentials name, and its grants.
    public func whoAmI() async throws -> (principal: String, grants: AccountGrants) {
        let answer = try await askAnyMember("who am I", .whoAmI)
        guard case .principal(let name, let grants) = answer else { throw unexpected("who am I", answer) }
        return (name, Self.grants(grants))
    }

    /// A new access key with `grants` (the caller must administer every
    /// account they name), expiring after `expiresIn` when set. The secret is
    /// in the result only: the cluster keeps its digest.
    public func createAccessKey(grants: AccountGrants, expiresIn: Duration? = nil) async throws
        -> (key: AccessKey, record: AccessKeyRecord)
    {
        let operation = "create access key"
        let wire = grants.byAccount.sorted { $0.key < $1.key }.map { WireGrant(account: $0.key, permissions: $0.value.rawValue) }
        let seconds = expiresIn.map { UInt64(max(1, $0.components.seconds)) }
        // One attempt only: a retry after a lost answer would make a second key.
        let answer = try await askAnyMember(operation, .createAccessKey(grants: wire, expiresInSeconds: seconds), retry: false)
        guard case .accessKeyCreated(let id, let secret, let bytes) = answer, let record = AccessKeyRecord.decode(bytes) else {
            throw unexpected(operation, answer)
        }
        return (AccessKey(id: id, secret: secret), record)
    }

    /// The access keys whose every account the caller administers, revoked ones included.
    public func listAccessKeys() async throws -> [AccessKeyRecord] {
        let answer = try await askAnyMember("list access keys", .listAccessKeys)
        guard case .accessKeys(let records) = answer else { throw unexpected("list access keys", answer) }
        return records.compactMap(AccessKeyRecord.decode).sorted { $0.id < $1.id }
    }

    /// Revokes a key: every node refuses it within ``revocationSeconds``. Revoking twice is harmless.
    public func revokeAccessKey(id: String) async throws -> AccessKeyRecord {
        let operation = "revoke access key \(id)"
        let answer = try await askAnyMember(operation, .revokeAccessKey(id: id))
        guard case .accessKeys(let records) = answer, let record = records.first.flatMap(AccessKeyRecord.decode) else {
            throw unexpected(operation, answer)
        }
        return record
    }

    /// How long after a revocation is acknowledged a node may still accept the key.
    public static let revocationSeconds = WireGrant.revocationSeconds

    /// Asks the members in turn until one answers (one pass; `retry: false` asks one). The node
    /// does the work with its own client (reads and writes of the system account, a first use
    /// electing that cell's leader), so an attempt may take the whole deadline, not one attempt's time.
    func askAnyMember(_ operation: String, _ body: ClientRequest.Body, retry: Bool = true) async throws
        -> ClientResponse.Body
    {
        var lastError: (any Error)?
        for memberID in router.table.memberIDs.shuffled().prefix(retry ? Int.max : 1) {
            do {
                let answer = try await askOnce(memberID, operation: operation, body, timeout: options.deadline)
                if case .error(let code, let message) = answer {
                    if let refusal = TesseraClientError.refusal(code, "\(operation): \(message)") { throw refusal }
                    if code == .unavailable || code == .shuttingDown || code == .overloaded {
                        lastError = TesseraClientError.unavailable("\(operation): \(memberID) answered \(code): \(message)")
                        continue
                    }
                    throw TesseraClientError.internalError("\(operation): \(memberID) failed: \(message)")
                }
                return answer
            } catch let error as TesseraClientError {
                guard case .unavailable = error else { throw error }
                lastError = error
            }
        }
        throw lastError ?? TesseraClientError.unavailable("\(operation): the cluster has no members")
    }

    func unexpected(_ operation: String, _ answer: ClientResponse.Body) -> TesseraClientError {
        .protocolError("\(operation): a node answered with \(answer.kindName)")
    }

    static func grants(_ wire: [WireGrant]) -> AccountGrants {
        AccountGrants(Dictionary(wire.map { ($0.account, Permissions(rawValue: $0.permissions)) }, uniquingKeysWith: { $0.union($1) }))
    }
}

extension TesseraClientError {
    /// The error for a node's refusal that retrying cannot mend: bad request, credentials, grants.
    static func refusal(_ code: WireErrorCode, _ message: String) -> TesseraClientError? {
        switch code {
        case .badRequest: .badRequest(message)
        case .unauthenticated: .unauthenticated(message)
        case .forbidden: .forbidden(message)
        case .invalidProgram: .program(.invalidProgram, message)
        case .programTrapped: .program(.trapped, message)
        case .limitExceeded: .program(.limitExceeded, message)
        case .notFound: .program(.notFound, message)
        default: nil
        }
    }
}
