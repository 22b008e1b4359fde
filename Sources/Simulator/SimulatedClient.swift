import Cell
import Linearizability

typealias RegisterInput = RegisterModel<String, String>.Input
typealias RegisterOutput = RegisterModel<String, String>.Output
typealias QueueInput = LogModel.Input
typealias QueueOutput = LogModel.Output

/// A request from a client to a node.
struct ClientRequest {
    enum Kind {
        case write(CellCommand)
        case read(key: String, strong: Bool)
        /// Entries of the queue whose collection is `key`, from `from`, from the cell's leader.
        case queueRead(key: String, from: UInt64)
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
    case queueRead(QueueOutput)
    case notLeader(hint: NodeID?)
}

/// A client of the simulated cluster: one operation at a time, retried on
/// "not leader" with the same request id, given up (outcome unknown) at its deadline.
struct SimulatedClient {
    struct Current {
        var operation: Int
        var input: RegisterInput?
        /// A queue operation's input (then `input` is nil).
        var queueInput: QueueInput?
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
