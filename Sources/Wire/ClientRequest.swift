import Cell
import Storage
/// How fresh a read must be.
public enum ReadConsistency: UInt8, Sendable, Equatable, CaseIterable {
    /// From the cell's leader under its lease: sees every acknowledged write.
    case strong = 0
    /// From any replica: may miss recent writes, never shows a write that did not commit.
    case eventual = 1
}

/// One write of a request: a put when `value` is set, a delete when not.
/// `key` is the key's text form (`account/resource/type/primaryKey[/sortKey]`);
/// the node parses it and names the part at fault if it is malformed.
public struct WireWrite: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]?
    public var condition: WriteCondition

    public init(key: String, value: [UInt8]?, condition: WriteCondition = .none) {
        self.key = key
        self.value = value
        self.condition = condition
    }
}

/// A client's request; `id` pairs it with its response on the connection.
public struct ClientRequest: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        /// Writes applied all or none; their keys must share a cell (the same
        /// primary key always does). `clientID`/`sequence` make a retry apply
        /// once; `acknowledgedBelow` lets the cell forget finished sequences.
        case write(clientID: UInt64, sequence: UInt64, acknowledgedBelow: UInt64, writes: [WireWrite])
        case get(key: String, consistency: ReadConsistency)
        /// Items of one collection (`collection` is a key without a sort key),
        /// sort keys in [from, to], resuming strictly after `after`.
        case query(collection: String, from: [UInt8]?, to: [UInt8]?, reverse: Bool, limit: UInt32,
                   after: [UInt8]?, consistency: ReadConsistency)
        /// The member list and placement settings, so a client can route by itself.
        case clusterInfo
        /// What this node hosts and leads, and which replicas lag.
        case nodeStatus
        /// Who this connection's credentials say the client is, and its grants.
        case whoAmI
        /// A new access key with these grants (each a subset of what the caller
        /// administers), expiring after `expiresInSeconds` when set.
        case createAccessKey(grants: [WireGrant], expiresInSeconds: UInt64?)
        /// The access keys whose accounts the caller administers.
        case listAccessKeys
        /// Marks a key revoked: it stops working within ``WireGrant/revocationSeconds``.
        case revokeAccessKey(id: String)
        /// Checks a WebAssembly module (eager compilation) and stores it as program `name` of `account`.
        case deployProgram(account: String, name: String, module: [UInt8])
        /// Runs an export of a deployed program on the node that receives this, for the caller's account.
        case invokeProgram(account: String, name: String, export: String, arguments: [Int64])
        case listPrograms(account: String)
        case removeProgram(account: String, name: String)
        /// An operation on the queue `queue` (`account/resource/lnr/name`), applied once like a write.
        case queueWrite(clientID: UInt64, sequence: UInt64, acknowledgedBelow: UInt64, queue: String, operation: QueueOperation)
        /// Entries from `from` (the first available when nil), at most `maximum`.
        case queueRead(queue: String, from: UInt64?, maximum: UInt32, consistency: ReadConsistency)
        case queueStatus(queue: String, consistency: ReadConsistency)
        case queuePosition(queue: String, group: String, consistency: ReadConsistency)
    }

    public var id: UInt64
    public var body: Body

    public init(id: UInt64, body: Body) {
        self.id = id
        self.body = body
    }

    public static let keyBytesMaximum = 16 << 10
    /// Above the VM's own module limit, so that the node, not the decoder, names the limit.
    public static let moduleBytesMaximum = 4 << 20
    public static let valueBytesMaximum = 16 << 20

    func encode(into writer: inout WireWriter) {
        writer.append(id)
        switch body {
        case .write(let clientID, let sequence, let acknowledgedBelow, let writes):
            writer.append(UInt8(1))
            writer.append(clientID)
            writer.append(sequence)
            writer.append(acknowledgedBelow)
            writer.append(UInt32(writes.count))
            for write in writes {
                writer.appendString(write.key)
                writer.appendOptionalBlob(write.value)
                switch write.condition {
                case .none: writer.append(UInt8(0))
                case .absent: writer.append(UInt8(1))
                case .exists: writer.append(UInt8(2))
                case .versionEquals(let version):
                    writer.append(UInt8(3))
                    writer.append(version)
                case .valueEquals(let value):
                    writer.append(UInt8(4))
                    writer.appendBlob(value)
                }
            }
        case .get(let key, let consistency):
            writer.append(UInt8(2))
            writer.appendString(key)
            writer.append(consistency.rawValue)
        case .query(let collection, let from, let to, let reverse, let limit, let after, let consistency):
            writer.append(UInt8(3))
            writer.appendString(collection)
            writer.appendOptionalBlob(from)
            writer.appendOptionalBlob(to)
            writer.append(reverse)
            writer.append(limit)
            writer.appendOptionalBlob(after)
            writer.append(consistency.rawValue)
        case .clusterInfo:
            writer.append(UInt8(4))
        case .nodeStatus:
            writer.append(UInt8(5))
        case .whoAmI:
            writer.append(UInt8(6))
        case .createAccessKey(let grants, let expiresInSeconds):
            writer.append(UInt8(7))
            WireGrant.encode(grants, into: &writer)
            writer.appendOptional(expiresInSeconds)
        case .listAccessKeys:
            writer.append(UInt8(8))
        case .revokeAccessKey(let id):
            writer.append(UInt8(9))
            writer.appendString(id)
        case .deployProgram(let account, let name, let module):
            writer.append(UInt8(10))
            writer.appendString(account)
            writer.appendString(name)
            writer.appendBlob(module)
        case .invokeProgram(let account, let name, let export, let arguments):
            writer.append(UInt8(11))
            writer.appendString(account)
            writer.appendString(name)
            writer.appendString(export)
            writer.append(UInt32(arguments.count))
            for argument in arguments { writer.append(argument) }
        case .listPrograms(let account):
            writer.append(UInt8(12))
            writer.appendString(account)
        case .removeProgram(let account, let name):
            writer.append(UInt8(13))
            writer.appendString(account)
            writer.appendString(name)
        case .queueWrite(let clientID, let sequence, let acknowledgedBelow, let queue, let operation):
            writer.append(UInt8(14))
            writer.append(clientID)
            writer.append(sequence)
            writer.append(acknowledgedBelow)
            writer.appendString(queue)
            writer.appendBlob(operation.encoded())
        case .queueRead(let queue, let from, let maximum, let consistency):
            writer.append(UInt8(15))
            writer.appendString(queue)
            writer.appendOptional(from)
            writer.append(maximum)
            writer.append(consistency.rawValue)
        case .queueStatus(let queue, let consistency):
            writer.append(UInt8(16))
            writer.appendString(queue)
            writer.append(consistency.rawValue)
        case .queuePosition(let queue, let group, let consistency):
            writer.append(UInt8(17))
            writer.appendString(queue)
            writer.appendString(group)
            writer.append(consistency.rawValue)
        }
    }

    init(from reader: inout WireReader) throws(WireError) {
        id = try reader.read(UInt64.self, "request id")
        let kind = try reader.read(UInt8.self, "request kind")
        switch kind {
        case 1:
            let clientID = try reader.read(UInt64.self, "client id")
            let sequence = try reader.read(UInt64.self, "sequence")
            let acknowledgedBelow = try reader.read(UInt64.self, "acknowledged-below")
            let count = try reader.readCount("writes", elementBytes: 6)
            var writes: [WireWrite] = []
            writes.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                let key = try reader.readString("key", maximum: Self.keyBytesMaximum)
                let value = try reader.readOptionalBlob("value", maximum: Self.valueBytesMaximum)
                let condition: WriteCondition
                switch try reader.read(UInt8.self, "condition kind") {
                case 0: condition = .none
                case 1: condition = .absent
                case 2: condition = .exists
                case 3: condition = .versionEquals(try reader.read(UInt64.self, "expected version"))
                case 4: condition = .valueEquals(try reader.readBlob("expected value", maximum: Self.valueBytesMaximum))
                case let other: throw WireError("unknown condition kind \(other)")
                }
                writes.append(WireWrite(key: key, value: value, condition: condition))
            }
            body = .write(clientID: clientID, sequence: sequence, acknowledgedBelow: acknowledgedBelow, writes: writes)
        case 2:
            body = .get(key: try reader.readString("key", maximum: Self.keyBytesMaximum),
                        consistency: try Self.readConsistency(&reader))
        case 3:
            body = .query(
                collection: try reader.readString("collection key", maximum: Self.keyBytesMaximum),
                from: try reader.readOptionalBlob("query start", maximum: Self.keyBytesMaximum),
                to: try reader.readOptionalBlob("query end", maximum: Self.keyBytesMaximum),
                reverse: try reader.readBool("query direction"),
                limit: try reader.read(UInt32.self, "query limit"),
                after: try reader.readOptionalBlob("query continuation", maximum: Self.keyBytesMaximum),
                consistency: try Self.readConsistency(&reader))
        case 4:
            body = .clusterInfo
        case 5:
            body = .nodeStatus
        case 6:
            body = .whoAmI
        case 7:
            body = .createAccessKey(grants: try WireGrant.decodeList(from: &reader),
                                    expiresInSeconds: try reader.readOptional(UInt64.self, "expiry seconds"))
        case 8:
            body = .listAccessKeys
        case 9:
            body = .revokeAccessKey(id: try reader.readString("access key id", maximum: 64))
        case 10:
            body = .deployProgram(account: try reader.readString("account", maximum: 256),
                                  name: try reader.readString("program name", maximum: 1024),
                                  module: try reader.readBlob("module", maximum: Self.moduleBytesMaximum))
        case 11:
            let account = try reader.readString("account", maximum: 256)
            let name = try reader.readString("program name", maximum: 1024)
            let export = try reader.readString("export name", maximum: 1024)
            let count = try reader.readCount("arguments", elementBytes: 8)
            var arguments: [Int64] = []
            for _ in 0..<count { arguments.append(try reader.read(Int64.self, "argument")) }
            body = .invokeProgram(account: account, name: name, export: export, arguments: arguments)
        case 12:
            body = .listPrograms(account: try reader.readString("account", maximum: 256))
        case 13:
            body = .removeProgram(account: try reader.readString("account", maximum: 256),
                                  name: try reader.readString("program name", maximum: 1024))
        case 14:
            let clientID = try reader.read(UInt64.self, "client id")
            let sequence = try reader.read(UInt64.self, "sequence")
            let acknowledgedBelow = try reader.read(UInt64.self, "acknowledged-below")
            let queue = try reader.readString("queue key", maximum: Self.keyBytesMaximum)
            let bytes = try reader.readBlob("queue operation", maximum: Self.valueBytesMaximum)
            let operation: QueueOperation
            do { operation = try QueueOperation(decoding: bytes) } catch { throw WireError("queue operation: \(error.reason)") }
            body = .queueWrite(clientID: clientID, sequence: sequence, acknowledgedBelow: acknowledgedBelow, queue: queue, operation: operation)
        case 15:
            body = .queueRead(queue: try reader.readString("queue key", maximum: Self.keyBytesMaximum),
                              from: try reader.readOptional(UInt64.self, "first sequence"),
                              maximum: try reader.read(UInt32.self, "entry count"),
                              consistency: try Self.readConsistency(&reader))
        case 16:
            body = .queueStatus(queue: try reader.readString("queue key", maximum: Self.keyBytesMaximum),
                                consistency: try Self.readConsistency(&reader))
        case 17:
            body = .queuePosition(queue: try reader.readString("queue key", maximum: Self.keyBytesMaximum),
                                  group: try reader.readString("consumer group", maximum: 1024),
                                  consistency: try Self.readConsistency(&reader))
        default:
            throw WireError("unknown request kind \(kind)")
        }
    }

    static func readConsistency(_ reader: inout WireReader) throws(WireError) -> ReadConsistency {
        let raw = try reader.read(UInt8.self, "read consistency")
        guard let consistency = ReadConsistency(rawValue: raw) else { throw WireError("unknown read consistency \(raw)") }
        return consistency
    }
}

/// One account and what may be done in it (`Permissions` raw bits: 1 read, 2 write, 4 admin).
public struct WireGrant: Sendable, Equatable {
    public var account: String
    public var permissions: UInt8

    public init(account: String, permissions: UInt8) {
        self.account = account
        self.permissions = permissions
    }

    /// How long a revoked access key may still be honoured by a node: nodes
    /// check keys against a copy of the key records at most this old.
    public static let revocationSeconds = 2

    static let countMaximum = 1024

    static func encode(_ grants: [WireGrant], into writer: inout WireWriter) {
        writer.append(UInt32(grants.count))
        for grant in grants {
            writer.appendString(grant.account)
            writer.append(grant.permissions)
        }
    }

    static func decodeList(from reader: inout WireReader) throws(WireError) -> [WireGrant] {
        let count = try reader.readCount("grants", elementBytes: 5)
        guard count <= countMaximum else { throw WireError("\(count) grants; at most \(countMaximum)") }
        var grants: [WireGrant] = []
        for _ in 0..<count {
            grants.append(WireGrant(account: try reader.readString("grant account", maximum: 256),
                                    permissions: try reader.read(UInt8.self, "grant permissions")))
        }
        return grants
    }
}
