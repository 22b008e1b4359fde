import Cell

/// A page of queue entries, with where the queue stands.
public struct WireQueueEntries: Sendable, Equatable {
    public var entries: [(sequence: UInt64, payload: [UInt8])]
    /// The first sequence still readable (entries before it are trimmed).
    public var firstAvailable: UInt64
    /// The last sequence appended (0 when none).
    public var lastSequence: UInt64

    public init(entries: [(sequence: UInt64, payload: [UInt8])], firstAvailable: UInt64, lastSequence: UInt64) {
        self.entries = entries
        self.firstAvailable = firstAvailable
        self.lastSequence = lastSequence
    }

    public static func == (lhs: WireQueueEntries, rhs: WireQueueEntries) -> Bool {
        lhs.firstAvailable == rhs.firstAvailable && lhs.lastSequence == rhs.lastSequence
            && lhs.entries.map(\.sequence) == rhs.entries.map(\.sequence) && lhs.entries.map(\.payload) == rhs.entries.map(\.payload)
    }

    func encode(into writer: inout WireWriter) {
        writer.append(firstAvailable)
        writer.append(lastSequence)
        writer.append(UInt32(entries.count))
        for entry in entries {
            writer.append(entry.sequence)
            writer.appendBlob(entry.payload)
        }
    }

    init(from reader: inout WireReader) throws(WireError) {
        firstAvailable = try reader.read(UInt64.self, "first available sequence")
        lastSequence = try reader.read(UInt64.self, "last sequence")
        let count = try reader.readCount("queue entries", elementBytes: 12)
        entries = []
        entries.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            entries.append((try reader.read(UInt64.self, "entry sequence"),
                            try reader.readBlob("entry payload", maximum: ClientRequest.valueBytesMaximum)))
        }
    }
}

/// A queue's head as `tail` and `status` report it.
public struct WireQueueStatus: Sendable, Equatable {
    public var lastSequence: UInt64
    public var trimmedThrough: UInt64
    public var leader: String?
    public var leaseHolder: String?
    /// Milliseconds since 1970 on the cell leader's clock; 0 when no lease was ever taken.
    public var leaseDeadlineMilliseconds: UInt64

    public init(lastSequence: UInt64, trimmedThrough: UInt64, leader: String?, leaseHolder: String?, leaseDeadlineMilliseconds: UInt64) {
        self.lastSequence = lastSequence
        self.trimmedThrough = trimmedThrough
        self.leader = leader
        self.leaseHolder = leaseHolder
        self.leaseDeadlineMilliseconds = leaseDeadlineMilliseconds
    }

    public init(_ head: QueueHead) {
        self.init(lastSequence: head.lastSequence, trimmedThrough: head.trimmedThrough, leader: head.leader,
                  leaseHolder: head.leaseHolder, leaseDeadlineMilliseconds: head.leaseDeadlineMilliseconds)
    }

    func encode(into writer: inout WireWriter) {
        writer.append(lastSequence)
        writer.append(trimmedThrough)
        writer.appendOptionalString(leader)
        writer.appendOptionalString(leaseHolder)
        writer.append(leaseDeadlineMilliseconds)
    }

    init(from reader: inout WireReader) throws(WireError) {
        lastSequence = try reader.read(UInt64.self, "last sequence")
        trimmedThrough = try reader.read(UInt64.self, "trim point")
        leader = try reader.readOptionalString("queue leader")
        leaseHolder = try reader.readOptionalString("lease holder")
        leaseDeadlineMilliseconds = try reader.read(UInt64.self, "lease deadline")
    }
}

extension WireWriter {
    mutating func appendOptionalString(_ text: String?) {
        append(text != nil)
        if let text { appendString(text) }
    }
}

extension WireReader {
    mutating func readOptionalString(_ what: String) throws(WireError) -> String? {
        try readBool("\(what) presence") ? try readString(what, maximum: 1024) : nil
    }
}
