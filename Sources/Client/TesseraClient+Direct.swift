import Keyspace
import Wire

/// Calls addressed to one node, with no routing and no retry elsewhere: what
/// operators and tests use to see what a particular replica holds.
extension TesseraClient {
    /// The item at `key` as node `memberID` has it. With `.eventual` that is the
    /// replica's applied state, possibly behind; with `.strong` the node answers
    /// only if it leads the cell under a lease, otherwise this throws
    /// ``TesseraClientError/unavailable(_:)`` naming the leader it knows.
    public func get(_ key: Key, consistency: ReadConsistency, at memberID: String) async throws -> ClientItem? {
        let operation = "get \(key.text) at \(memberID)"
        let answer = try await askOnce(memberID, operation: operation, .get(key: key.text, consistency: consistency))
        switch answer {
        case .item(let item):
            return item.map(ClientItem.init)
        case .notLeader(let leader):
            throw TesseraClientError.unavailable("\(operation): not the leader (leader: \(leader ?? "unknown"))")
        case .error(let code, let message) where TesseraClientError.refusal(code, message) != nil:
            throw TesseraClientError.refusal(code, "\(operation): \(message)")!
        case .error(let code, let message):
            throw TesseraClientError.unavailable("\(operation): \(memberID) answered \(code): \(message)")
        default:
            throw TesseraClientError.protocolError("\(operation): \(memberID) answered with \(answer.kindName)")
        }
    }

    /// One request to one member, one attempt, waiting at most `timeout` (default: the attempt timeout).
    func askOnce(_ memberID: String, operation: String, _ body: ClientRequest.Body, timeout: Duration? = nil) async throws
        -> ClientResponse.Body
    {
        guard !isClosed else { throw TesseraClientError.unavailable("\(operation): the client is closed") }
        let table = router.table
        guard let endpoint = table.endpoint(of: memberID) else {
            throw TesseraClientError.badRequest(
                "\(operation): no member has id \"\(memberID)\" (members: \(table.memberIDs.joined(separator: ", ")))")
        }
        do {
            let connection = try await pool.connection(to: endpoint)
            return try await connection.send(body, timeout: min(timeout ?? options.attemptTimeout, options.deadline))
        } catch let failure as TransportFailure {
            if failure.kind == .protocolViolation {
                throw TesseraClientError.protocolError("\(operation): \(failure.reason)")
            }
            if failure.kind == .credentialsRefused {
                throw TesseraClientError.unauthenticated("\(operation): \(memberID): \(failure.reason)")
            }
            throw TesseraClientError.unavailable("\(operation): \(memberID) at \(endpoint) did not answer: \(failure.reason)")
        }
    }
}
