import Cell
/// One item of a query page or a get.
public struct WireItem: Sendable, Equatable {
    public var sortKey: [UInt8]
    public var value: [UInt8]
    public var version: UInt64

    public init(sortKey: [UInt8], value: [UInt8], version: UInt64) {
        self.sortKey = sortKey
        self.value = value
        self.version = version
    }
}

/// Typed failures a node reports to a client.
public enum WireErrorCode: UInt8, Sendable, Equatable, CaseIterable {
    /// The request is malformed (bad key, too large, keys in different cells): retrying won't help.
    case badRequest = 1
    /// The cell has no leader right now (election, lost quorum): retry later.
    case unavailable = 2
    /// The node gave up waiting (for a quorum, a lease): the write may or may not have happened.
    case timeout = 3
    /// This node hosts no replica of the key's cell: the client's member list is stale.
    case notReplica = 4
    /// The node failed (storage, corruption): details in the message and the node's log.
    case internalError = 5
    /// The node is stopping: retry on another replica.
    case shuttingDown = 6
    /// A retried write arrived after the client declared it finished: outcome unknown.
    case expired = 7
    /// The node is at one of its bounds (requests in flight, a cell's pending
    /// writes): nothing was applied; back off and retry.
    case overloaded = 8
    /// The account is over its request rate (the message names the account and
    /// the limit): nothing was applied; slow down.
    case throttled = 9
    /// The connection's credentials are missing, unknown, wrong, expired or
    /// revoked (the message says which): nothing was done; retrying won't help.
    case unauthenticated = 10
    /// The credentials are good but do not allow this in the account the
    /// message names: nothing was done; retrying won't help.
    case forbidden = 11
    /// A program or its invocation is at fault (a module that does not check,
    /// an import the host lacks, a missing export, wrong arguments, a bad
    /// pointer from the guest): retrying won't help.
    case invalidProgram = 12
    /// The program trapped; its host calls made so far stand.
    case programTrapped = 13
    /// The invocation went past a limit the message names; its host calls made so far stand.
    case limitExceeded = 14
    /// What the request names does not exist (a program, a queue).
    case notFound = 15
    /// The queue entries asked for were trimmed (the message names the first still readable).
    case trimmed = 16
}

/// A node's answer to one request.
public struct ClientResponse: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case written(version: UInt64)
        /// Write number `write` of the request found a different state; nothing changed.
        case conditionFailed(write: UInt32, currentVersion: UInt64?)
        case item(WireItem?)
        case page(items: [WireItem], more: Bool)
        /// Ask `leader` instead (a member id; `nil` while the cell elects one).
        case notLeader(leader: String?)
        case error(WireErrorCode, String)
        case clusterInfo(ClusterInfo)
        case nodeStatus(NodeStatus)
        /// Who the connection's credentials name, and their grants.
        case principal(name: String, grants: [WireGrant])
        /// A new access key: its secret (shown once, never stored) and its record (JSON).
        case accessKeyCreated(id: String, secret: String, record: [UInt8])
        /// Access key records (JSON each), for a list or a revocation.
        case accessKeys([[UInt8]])
        case programDeployed(WireProgram)
        case programs([WireProgram])
        case invoked(WireInvocation)
        case queueOutcome(QueueOutcome)
        case queueEntries(WireQueueEntries)
        case queueStatus(WireQueueStatus)
        /// A consumer group's committed position; nil when it never committed.
        case queuePosition(UInt64?)
    }

    public var id: UInt64
    public var body: Body

    public init(id: UInt64, body: Body) {
        self.id = id
        self.body = body
    }

    func encode(into writer: inout WireWriter) {
        writer.append(id)
        switch body {
        case .written(let version):
            writer.append(UInt8(1))
            writer.append(version)
        case .conditionFailed(let write, let currentVersion):
            writer.append(UInt8(2))
            writer.append(write)
            writer.appendOptional(currentVersion)
        case .item(let item):
            writer.append(UInt8(3))
            writer.append(item != nil)
            if let item { Self.encode(item, into: &writer) }
        case .page(let items, let more):
            writer.append(UInt8(4))
            writer.append(UInt32(items.count))
            for item in items { Self.encode(item, into: &writer) }
            writer.append(more)
        case .notLeader(let leader):
            writer.append(UInt8(5))
            writer.append(leader != nil)
            if let leader { writer.appendString(leader) }
        case .error(let code, let message):
            writer.append(UInt8(6))
            writer.append(code.rawValue)
            writer.appendString(message)
        case .clusterInfo(let info):
            writer.append(UInt8(7))
            info.encode(into: &writer)
        case .nodeStatus(let status):
            writer.append(UInt8(8))
            status.encode(into: &writer)
        case .principal(let name, let grants):
            writer.append(UInt8(9))
            writer.appendString(name)
            WireGrant.encode(grants, into: &writer)
        case .accessKeyCreated(let id, let secret, let record):
            writer.append(UInt8(10))
            writer.appendString(id)
            writer.appendString(secret)
            writer.appendBlob(record)
        case .accessKeys(let records):
            writer.append(UInt8(11))
            writer.append(UInt32(records.count))
            for record in records { writer.appendBlob(record) }
        case .programDeployed(let program):
            writer.append(UInt8(12))
            program.encode(into: &writer)
        case .programs(let programs):
            writer.append(UInt8(13))
            writer.append(UInt32(programs.count))
            for program in programs { program.encode(into: &writer) }
        case .invoked(let invocation):
            writer.append(UInt8(14))
            invocation.encode(into: &writer)
        case .queueOutcome(let outcome):
            writer.append(UInt8(15))
            writer.appendBlob(outcome.encoded())
        case .queueEntries(let entries):
            writer.append(UInt8(16))
            entries.encode(into: &writer)
        case .queueStatus(let status):
            writer.append(UInt8(17))
            status.encode(into: &writer)
        case .queuePosition(let position):
            writer.append(UInt8(18))
            writer.appendOptional(position)
        }
    }

    init(from reader: inout WireReader) throws(WireError) {
        id = try reader.read(UInt64.self, "response id")
        let kind = try reader.read(UInt8.self, "response kind")
        switch kind {
        case 1:
            body = .written(version: try reader.read(UInt64.self, "version"))
        case 2:
            body = .conditionFailed(write: try reader.read(UInt32.self, "failed write"),
                                    currentVersion: try reader.readOptional(UInt64.self, "current version"))
        case 3:
            body = .item(try reader.readBool("item presence") ? try Self.decodeItem(from: &reader) : nil)
        case 4:
            let count = try reader.readCount("items", elementBytes: 16)
            var items: [WireItem] = []
            items.reserveCapacity(min(count, 1024))
            for _ in 0..<count { items.append(try Self.decodeItem(from: &reader)) }
            body = .page(items: items, more: try reader.readBool("more-items"))
        case 5:
            body = .notLeader(leader: try reader.readBool("leader presence") ? try reader.readString("leader") : nil)
        case 6:
            let raw = try reader.read(UInt8.self, "error code")
            guard let code = WireErrorCode(rawValue: raw) else { throw WireError("unknown error code \(raw)") }
            body = .error(code, try reader.readString("error message"))
        case 7:
            body = .clusterInfo(try ClusterInfo(from: &reader))
        case 8:
            body = .nodeStatus(try NodeStatus(from: &reader))
        case 9:
            body = .principal(name: try reader.readString("principal"), grants: try WireGrant.decodeList(from: &reader))
        case 10:
            body = .accessKeyCreated(id: try reader.readString("access key id", maximum: 64),
                                     secret: try reader.readString("access key secret", maximum: 256),
                                     record: try reader.readBlob("access key record", maximum: 1 << 20))
        case 11:
            let count = try reader.readCount("access key records", elementBytes: 4)
            var records: [[UInt8]] = []
            for _ in 0..<count { records.append(try reader.readBlob("access key record", maximum: 1 << 20)) }
            body = .accessKeys(records)
        case 12:
            body = .programDeployed(try WireProgram(from: &reader))
        case 13:
            let count = try reader.readCount("programs", elementBytes: 24)
            var programs: [WireProgram] = []
            for _ in 0..<count { programs.append(try WireProgram(from: &reader)) }
            body = .programs(programs)
        case 14:
            body = .invoked(try WireInvocation(from: &reader))
        case 15:
            let bytes = try reader.readBlob("queue outcome", maximum: 1 << 16)
            do { body = .queueOutcome(try QueueOutcome(decoding: bytes)) } catch { throw WireError("queue outcome: \(error.reason)") }
        case 16:
            body = .queueEntries(try WireQueueEntries(from: &reader))
        case 17:
            body = .queueStatus(try WireQueueStatus(from: &reader))
        case 18:
            body = .queuePosition(try reader.readOptional(UInt64.self, "queue position"))
        default:
            throw WireError("unknown response kind \(kind)")
        }
    }

    static func encode(_ item: WireItem, into writer: inout WireWriter) {
        writer.appendBlob(item.sortKey)
        writer.appendBlob(item.value)
        writer.append(item.version)
    }

    static func decodeItem(from reader: inout WireReader) throws(WireError) -> WireItem {
        WireItem(sortKey: try reader.readBlob("sort key"), value: try reader.readBlob("value"),
                 version: try reader.read(UInt64.self, "version"))
    }
}
