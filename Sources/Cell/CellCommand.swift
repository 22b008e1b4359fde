/// A client's request as it travels through a cell's log. Conditions are
/// decided when the entry is applied, identically on every replica.
public struct CellCommand: Hashable, Sendable {
    public enum Operation: Hashable, Sendable {
        case put(key: [UInt8], value: [UInt8])
        case delete(key: [UInt8])
        /// Writes `new` if the current value equals `expected` (`nil`: if absent).
        case compareAndSwap(key: [UInt8], expected: [UInt8]?, new: [UInt8])

        public var key: [UInt8] {
            switch self {
            case .put(let key, _), .delete(let key), .compareAndSwap(let key, _, _): key
            }
        }
    }

    /// Identifies a retried request, so that the cell applies it once.
    public var clientID: UInt64
    public var sequence: UInt64
    public var operation: Operation

    public init(clientID: UInt64, sequence: UInt64, operation: Operation) {
        self.clientID = clientID
        self.sequence = sequence
        self.operation = operation
    }

    /// `u64 client | u64 sequence | u8 kind | u32 key length | key | (kind-specific)`, little-endian.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        func appendBlob(_ blob: [UInt8]) {
            append(UInt32(blob.count))
            bytes.append(contentsOf: blob)
        }
        append(clientID)
        append(sequence)
        switch operation {
        case .put(let key, let value):
            bytes.append(1)
            appendBlob(key)
            appendBlob(value)
        case .delete(let key):
            bytes.append(2)
            appendBlob(key)
        case .compareAndSwap(let key, let expected, let new):
            bytes.append(3)
            appendBlob(key)
            bytes.append(expected == nil ? 0 : 1)
            appendBlob(expected ?? [])
            appendBlob(new)
        }
        return bytes
    }

    public struct DecodingError: Error, Hashable {
        public let reason: String
    }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        var offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) throws(DecodingError) -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= bytes.count else { throw DecodingError(reason: "truncated command") }
            var value: T = 0
            for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
            offset += size
            return value
        }
        func readBlob() throws(DecodingError) -> [UInt8] {
            let count = Int(try read(UInt32.self))
            guard offset + count <= bytes.count else { throw DecodingError(reason: "truncated command field") }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }
        clientID = try read(UInt64.self)
        sequence = try read(UInt64.self)
        switch try read(UInt8.self) {
        case 1: operation = .put(key: try readBlob(), value: try readBlob())
        case 2: operation = .delete(key: try readBlob())
        case 3:
            let key = try readBlob()
            let flag = try read(UInt8.self)
            guard flag <= 1 else { throw DecodingError(reason: "compare-and-swap flag \(flag) is neither 0 nor 1") }
            let hasExpected = flag == 1
            let expected = try readBlob()
            guard hasExpected || expected.isEmpty else { throw DecodingError(reason: "absent expected value with bytes") }
            operation = .compareAndSwap(key: key, expected: hasExpected ? expected : nil, new: try readBlob())
        case let kind: throw DecodingError(reason: "unknown command kind \(kind)")
        }
        guard offset == bytes.count else { throw DecodingError(reason: "trailing bytes after command") }
    }
}

/// What applying a command did.
public enum CellCommandResult: Hashable, Sendable {
    /// Applied; the key's version is now the entry's log index.
    case applied(version: LogIndex)
    /// A compare-and-swap found another value; nothing changed.
    case conditionFailed(currentVersion: LogIndex?)
}

/// The replicated state of a cell: versioned values by key, and the last
/// result per client so that a retried request is answered, not re-applied.
public struct CellStateMachine: Hashable, Sendable {
    public struct Versioned: Hashable, Sendable {
        public var value: [UInt8]
        public var version: LogIndex
    }

    public private(set) var items: [[UInt8]: Versioned] = [:]
    private var sessions: [UInt64: (sequence: UInt64, result: CellCommandResult)] = [:]
    public private(set) var appliedIndex: LogIndex = 0

    public init() {}

    public func read(_ key: [UInt8]) -> Versioned? { items[key] }

    /// Applies one committed entry; returns the command and its result for a command entry.
    public mutating func apply(_ entry: LogEntry) -> (command: CellCommand, result: CellCommandResult)? {
        precondition(entry.index == appliedIndex + 1, "entries must be applied in order: \(entry.index) after \(appliedIndex)")
        appliedIndex = entry.index
        guard case .command(let bytes) = entry.payload, let command = try? CellCommand(decoding: bytes) else { return nil }
        if let session = sessions[command.clientID], command.sequence <= session.sequence {
            return (command, session.result)
        }
        let result: CellCommandResult
        switch command.operation {
        case .put(let key, let value):
            items[key] = Versioned(value: value, version: entry.index)
            result = .applied(version: entry.index)
        case .delete(let key):
            items[key] = nil
            result = .applied(version: entry.index)
        case .compareAndSwap(let key, let expected, let new):
            if items[key]?.value == expected {
                items[key] = Versioned(value: new, version: entry.index)
                result = .applied(version: entry.index)
            } else {
                result = .conditionFailed(currentVersion: items[key]?.version)
            }
        }
        sessions[command.clientID] = (command.sequence, result)
        return (command, result)
    }

    /// Restores the state a snapshot carried; a snapshot that does not decode is
    /// reported, never taken as an empty state.
    public mutating func restore(_ snapshot: Snapshot) throws(CellCommand.DecodingError) {
        self = try CellStateMachine(encoded: snapshot.state)
        appliedIndex = snapshot.index
    }

    public static func == (lhs: CellStateMachine, rhs: CellStateMachine) -> Bool {
        lhs.items == rhs.items && lhs.appliedIndex == rhs.appliedIndex
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(items)
        hasher.combine(appliedIndex)
    }

    /// The state as bytes for a snapshot: items then sessions, sorted for determinism.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        append(UInt64(items.count))
        for (key, item) in items.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            append(UInt32(key.count)); bytes.append(contentsOf: key)
            append(UInt32(item.value.count)); bytes.append(contentsOf: item.value)
            append(item.version)
        }
        append(UInt64(sessions.count))
        for (client, session) in sessions.sorted(by: { $0.key < $1.key }) {
            append(client)
            append(session.sequence)
            switch session.result {
            case .applied(let version): bytes.append(1); append(version)
            case .conditionFailed(let version): bytes.append(2); append(version ?? 0); bytes.append(version == nil ? 0 : 1)
            }
        }
        return bytes
    }

    init(encoded bytes: [UInt8]) throws(CellCommand.DecodingError) {
        var offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) throws(CellCommand.DecodingError) -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= bytes.count else { throw .init(reason: "truncated snapshot") }
            var value: T = 0
            for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
            offset += size
            return value
        }
        func readBlob() throws(CellCommand.DecodingError) -> [UInt8] {
            let count = Int(try read(UInt32.self))
            guard offset + count <= bytes.count else { throw .init(reason: "truncated snapshot field") }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }
        for _ in 0..<(try read(UInt64.self)) {
            let key = try readBlob()
            let value = try readBlob()
            items[key] = Versioned(value: value, version: try read(UInt64.self))
        }
        for _ in 0..<(try read(UInt64.self)) {
            let client = try read(UInt64.self)
            let sequence = try read(UInt64.self)
            let kind = try read(UInt8.self)
            let version = try read(UInt64.self)
            if kind == 1 {
                sessions[client] = (sequence, .applied(version: version))
            } else {
                let present = try read(UInt8.self) == 1
                sessions[client] = (sequence, .conditionFailed(currentVersion: present ? version : nil))
            }
        }
    }
}
