import Cell
import Linearizability

typealias RegisterInput = RegisterModel<String, String>.Input
typealias RegisterOutput = RegisterModel<String, String>.Output

/// A request from a client to a node.
struct ClientRequest {
    enum Kind {
        case write(CellCommand)
        case read(key: String, strong: Bool)
    }

    var client: Int
    var operation: Int
    var cell: Int
    var kind: Kind
}

/// A node's answer.
enum ClientResponse {
    case written(CellCommandResult)
    case value(String?)
    case notLeader(hint: NodeID?)
}

/// A client of the simulated cluster: one operation at a time, retried on
/// "not leader" with the same request id, given up (outcome unknown) at its deadline.
struct SimulatedClient {
    struct Current {
        var operation: Int
        var input: RegisterInput?
        var request: ClientRequest
        var invokedAt: Int64
        var deadline: Int64
        var attempts = 0
    }

    let id: Int
    var sequence: UInt64 = 0
    var current: Current?
    var leaderGuess: [Int: NodeID] = [:]
    var lastRead: [String: String?] = [:]
}
