import Storage

/// A cell's state as snapshot bytes. Everything is written in sorted order so
/// that equal states give equal bytes on every replica. The applied index is
/// not in the bytes: it is the snapshot's own index.
///
///     u32 collections | per collection, ascending: blob name | u32 items
///                       | per item, ascending sort key: blob sortKey | blob value | u64 version
///     u32 sessions    | per session, ascending client: u64 client | u64 watermark | u64 lastIndex | u32 results
///                       | per result, ascending sequence: u64 sequence | result
///     result: u8 kind, then 1 applied: u64 version | 2 condition failed: u16 write | u8 hasVersion | [u64 version]
///             | 3 expired (never remembered, encoded for completeness) | 4 queue: a queue outcome (``QueueOutcome``)
///
/// Shared by every kind of cell state (see ``CellState``).
public enum CellSnapshotFormat {
    // Smallest encodings, so that a count the remaining bytes cannot hold is rejected before looping.
    static let collectionBytesMinimum = 4 + 4 + itemBytesMinimum
    static let itemBytesMinimum = 4 + 4 + 8
    private static let sessionBytesMinimum = 8 + 8 + 8 + 4
    private static let resultBytesMinimum = 8 + 1

    /// The bytes of a state. Collections must be ascending by name with
    /// non-empty, sorted items; sessions ascending by client.
    public static func encode(
        collections: [(name: [UInt8], items: [Item])], sessions: [(client: UInt64, session: ClientSession)]
    ) -> [UInt8] {
        var bytes = countBytes(collections.count)
        for (name, items) in collections { bytes += collectionBytes(name: name, items: items) }
        return bytes + sessionsBytes(sessions.map { ($0.client, encode($0.session)) })
    }

    // The pieces of an encoding, for a writer that streams a state too large
    // to hold: a count, then that many collections, then the sessions.

    /// A `u32` count (of collections, which a streaming writer may patch in at the end).
    public static func countBytes(_ count: Int) -> [UInt8] {
        var writer = CommandWriter()
        writer.append(UInt32(count))
        return writer.bytes
    }

    /// One collection: `items` non-empty and ascending by sort key.
    public static func collectionBytes(name: [UInt8], items: [Item]) -> [UInt8] {
        var bytes = collectionStartBytes(name: name, count: items.count)
        for item in items { bytes += itemBytes(item) }
        return bytes
    }

    /// A collection's start: its name, then its item count as the last 4 bytes
    /// (a writer streaming items it has not counted yet patches it in at the end).
    public static func collectionStartBytes(name: [UInt8], count: Int) -> [UInt8] {
        var writer = CommandWriter()
        writer.appendBlob(name)
        writer.append(UInt32(count))
        return writer.bytes
    }

    /// One item of a collection, after its start.
    public static func itemBytes(_ item: Item) -> [UInt8] {
        var writer = CommandWriter()
        writer.appendBlob(item.sortKey)
        writer.appendBlob(item.value)
        writer.append(item.version)
        return writer.bytes
    }

    /// The sessions, ascending by client, each as ``encode(_:)`` gives it.
    public static func sessionsBytes(_ sessions: [(client: UInt64, encodedSession: [UInt8])]) -> [UInt8] {
        var writer = CommandWriter()
        writer.append(UInt32(sessions.count))
        for (client, session) in sessions {
            writer.append(client)
            writer.bytes += session
        }
        return writer.bytes
    }

    /// Decodes ``encode(collections:sessions:)``'s bytes. Rejects anything it
    /// could not have produced: truncation, trailing bytes, unknown kinds,
    /// unsorted or duplicate keys, empty collections, results below their
    /// watermark. (``CellSnapshotStream`` does the decoding, for this and for
    /// a snapshot too large to hold.)
    public static func decode(_ bytes: [UInt8]) throws(CellCommand.DecodingError)
        -> (collections: [(name: [UInt8], items: [Item])], sessions: [(client: UInt64, session: ClientSession)])
    {
        var stream = CellSnapshotStream(bytes: bytes)
        var collections: [(name: [UInt8], items: [Item])] = []
        var sessions: [(client: UInt64, session: ClientSession)] = []
        do {
            while let element = try stream.next() {
                switch element {
                case .collection(let name, let itemCount):
                    collections.append((name, []))
                    collections[collections.count - 1].items.reserveCapacity(itemCount)
                case .item(let item): collections[collections.count - 1].items.append(item)
                case .sessions(let all): sessions = all
                }
            }
        } catch let error as CellCommand.DecodingError {
            throw error
        } catch {
            throw .init(reason: "\(error)")  // reading memory throws nothing else
        }
        return (collections, sessions)
    }

    /// The sessions part: a count, then the sessions, ascending by client.
    static func readSessions(_ reader: inout CommandReader) throws(CellCommand.DecodingError)
        -> [(client: UInt64, session: ClientSession)]
    {
        var sessions: [(client: UInt64, session: ClientSession)] = []
        let sessionCount = try reader.readCount(each: sessionBytesMinimum, of: "sessions")
        for _ in 0..<sessionCount {
            let client = try reader.read(UInt64.self)
            if let previous = sessions.last?.client, previous >= client {
                throw .init(reason: "sessions out of order at byte \(reader.offset)")
            }
            sessions.append((client, try readSession(&reader)))
        }
        return sessions
    }

    /// One session's bytes on their own (how the page store keeps it).
    public static func encode(_ session: ClientSession) -> [UInt8] {
        var writer = CommandWriter()
        encode(session, into: &writer)
        return writer.bytes
    }

    public static func decodeSession(_ bytes: [UInt8]) throws(CellCommand.DecodingError) -> ClientSession {
        var reader = CommandReader(bytes: bytes)
        let session = try readSession(&reader)
        guard reader.isAtEnd else { throw .init(reason: "trailing bytes after session") }
        return session
    }

    private static func encode(_ session: ClientSession, into writer: inout CommandWriter) {
        writer.append(session.watermark)
        writer.append(session.lastIndex)
        writer.append(UInt32(session.results.count))
        for (sequence, result) in session.results.sorted(by: { $0.key < $1.key }) {
            writer.append(sequence)
            switch result {
            case .applied(let version):
                writer.bytes.append(1)
                writer.append(version)
            case .conditionFailed(let write, let version):
                writer.bytes.append(2)
                writer.append(UInt16(write))
                writer.bytes.append(version == nil ? 0 : 1)
                if let version { writer.append(version) }
            case .expired:
                writer.bytes.append(3)
            case .queue(let outcome):
                writer.bytes.append(4)
                outcome.encode(into: &writer)
            }
        }
    }

    private static func readSession(_ reader: inout CommandReader) throws(CellCommand.DecodingError) -> ClientSession {
        var session = ClientSession()
        session.watermark = try reader.read(UInt64.self)
        session.lastIndex = try reader.read(UInt64.self)
        let resultCount = try reader.readCount(each: resultBytesMinimum, of: "results")
        var previousSequence: UInt64?
        for _ in 0..<resultCount {
            let sequence = try reader.read(UInt64.self)
            if let previousSequence, previousSequence >= sequence { throw .init(reason: "results out of order at byte \(reader.offset)") }
            guard sequence >= session.watermark else {
                throw .init(reason: "result below its session's watermark at byte \(reader.offset)")
            }
            previousSequence = sequence
            session.results[sequence] = try readResult(&reader)
        }
        return session
    }

    private static func readResult(_ reader: inout CommandReader) throws(CellCommand.DecodingError) -> CellCommandResult {
        switch try reader.read(UInt8.self) {
        case 1: return .applied(version: try reader.read(UInt64.self))
        case 2:
            let write = Int(try reader.read(UInt16.self))
            guard write < CellCommand.writesMaximum else { throw .init(reason: "failed write \(write) beyond a command's writes") }
            switch try reader.read(UInt8.self) {
            case 0: return .conditionFailed(write: write, currentVersion: nil)
            case 1: return .conditionFailed(write: write, currentVersion: try reader.read(UInt64.self))
            case let flag: throw .init(reason: "version flag \(flag) is neither 0 nor 1")
            }
        case 3: return .expired
        case 4: return .queue(try QueueOutcome.decode(from: &reader))
        case let kind: throw .init(reason: "unknown result kind \(kind)")
        }
    }
}

extension CellStateMachine {
    public func encoded() -> [UInt8] {
        CellSnapshotFormat.encode(
            collections: collections.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { ($0.key, $0.value) },
            sessions: sessions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Decodes `encoded()` bytes (applied index 0); see ``CellSnapshotFormat/decode(_:)``.
    public init(encoded bytes: [UInt8]) throws(CellCommand.DecodingError) {
        let (collections, sessions) = try CellSnapshotFormat.decode(bytes)
        for (name, items) in collections {
            self.collections[name] = items
            itemCount += items.count
        }
        for (client, session) in sessions { self.sessions[client] = session }
    }

    /// Restores the state a snapshot carried; a snapshot that does not decode is
    /// reported, never taken as an empty state.
    public mutating func restore(_ snapshot: Snapshot) throws(CellCommand.DecodingError) {
        self = try CellStateMachine(encoded: snapshot.state)
        appliedIndex = snapshot.index
    }
}

extension CommandReader {
    /// A `u32` count of elements at least `minimum` bytes each, rejected when the
    /// remaining bytes could not hold that many (so a corrupt count never allocates).
    mutating func readCount(each minimum: Int, of what: String) throws(CellCommand.DecodingError) -> Int {
        let count = Int(try read(UInt32.self))
        guard count <= (bytes.count - offset) / minimum else {
            throw .init(reason: "\(count) \(what) cannot fit in the \(bytes.count - offset) bytes left at byte \(offset)")
        }
        return count
    }
}
