import Storage
import Cell
import TestSupport
import Wire

/// Reproducible random frames of every kind, drawn from the project's SplitMix64.
/// Values lean towards edges (0, max, empty, multi-byte UTF-8) and stay inside
/// the limits the decoder enforces, so that every generated frame is valid.
struct RandomFrames {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func bool() -> Bool { next() & 1 == 1 }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func bytes(upTo maximum: Int) -> [UInt8] { (0..<int(0...maximum)).map { _ in byte() } }

    /// Often 0, the maximum or small; otherwise anything.
    mutating func u64() -> UInt64 {
        switch int(0...5) {
        case 0: 0
        case 1: .max
        case 2: UInt64(int(0...1_000))
        default: next()
        }
    }

    mutating func u32() -> UInt32 { int(0...3) == 0 ? .max : UInt32(truncatingIfNeeded: u64()) }
    mutating func i64() -> Int64 { int(0...5) == 0 ? .min : Int64(bitPattern: u64()) }

    /// Text mixing ASCII with 2-, 3- and 4-byte scalars, a combining mark and NUL.
    mutating func string(upTo maximum: Int = 12) -> String {
        let pool: [Unicode.Scalar] = ["a", "z", "/", "0", "é", "€", "𝄞", "\u{301}", "\u{0}", "ß"]
        var text = String.UnicodeScalarView()
        for _ in 0..<int(0...maximum) { text.append(pool[int(0...(pool.count - 1))]) }
        return String(text)
    }

    mutating func members() -> [NodeID] { (0..<int(0...5)).map { _ in NodeID(u32()) } }

    // MARK: Frames

    mutating func frame() -> Frame {
        switch int(0...10) {
        case 0: .hello(hello())
        case 1: .heartbeat
        case 2...4: .cellMessages((0..<int(0...4)).map { _ in envelope() })
        case 5...6: .request(request())
        case 7: .snapshotTransfer(snapshotTransfer())
        default: .response(response())
        }
    }

    mutating func snapshotTransfer() -> SnapshotTransfer {
        let bytes = bytes(upTo: 48)
        let size = u64() | UInt64(bytes.count) << 8
        let identity = SnapshotIdentity(cell: u64(), index: u64(), ballot: Ballot(u64()), bytes: size, checksum: u32())
        if bytes.isEmpty { return .progress(SnapshotProgress(identity: identity, receivedBytes: min(u64(), size))) }
        return .chunk(SnapshotChunk(identity: identity, leaderBallot: Ballot(u64()), sentAt: Instant(nanoseconds: i64()),
                                    configuration: members(), offset: u64() % (size - UInt64(bytes.count) + 1), bytes: bytes))
    }

    mutating func hello() -> Hello {
        switch int(0...2) {
        case 0: .client
        case 1: .clientWithAccessKey(id: string(upTo: 24), secret: string(upTo: 64))
        default: .peer(memberID: string(), clusterFingerprint: u64())
        }
    }

    // MARK: Consensus

    mutating func envelope() -> CellEnvelope { CellEnvelope(cell: u64(), message: cellMessage()) }

    mutating func cellMessage() -> CellMessage {
        switch int(0...4) {
        case 0:
            return .prepare(ballot: Ballot(u64()), lastIndex: u64(), lastBallot: Ballot(u64()), probe: bool())
        case 1:
            return .promise(ballot: Ballot(u64()), granted: bool(), probe: bool())
        case 2:
            return .accept(ballot: Ballot(u64()), previousIndex: u64(), previousBallot: Ballot(u64()),
                           entries: (0..<int(0...5)).map { _ in entry() }, commitIndex: u64(),
                           sentAt: Instant(nanoseconds: i64()))
        case 3:
            return .accepted(ballot: Ballot(u64()), success: bool(), matchIndex: u64(), sentAt: Instant(nanoseconds: i64()))
        default:
            let snapshot = Snapshot(index: u64(), ballot: Ballot(u64()), configuration: members(), state: bytes(upTo: 48))
            return .installSnapshot(ballot: Ballot(u64()), snapshot: snapshot, sentAt: Instant(nanoseconds: i64()))
        }
    }

    mutating func entry() -> LogEntry {
        let payload: LogEntry.Payload = switch int(0...2) {
        case 0: .noop
        case 1: .command(bytes(upTo: 32))
        default: .configuration(members())
        }
        return LogEntry(index: u64(), ballot: Ballot(u64()), payload: payload)
    }

    // MARK: Client protocol

    mutating func request() -> ClientRequest {
        let body: ClientRequest.Body
        switch int(0...16) {
        case 0:
            body = .write(clientID: u64(), sequence: u64(), acknowledgedBelow: u64(),
                          writes: (0..<int(0...4)).map { _ in write() })
        case 1:
            body = .get(key: string(upTo: 20), consistency: consistency())
        case 2:
            body = .query(collection: string(upTo: 20), from: bool() ? bytes(upTo: 8) : nil, to: bool() ? bytes(upTo: 8) : nil,
                          reverse: bool(), limit: u32(), after: bool() ? bytes(upTo: 8) : nil, consistency: consistency())
        case 3: body = .clusterInfo
        case 4: body = .whoAmI
        case 5: body = .createAccessKey(grants: grants(), expiresInSeconds: bool() ? u64() : nil)
        case 6: body = .listAccessKeys
        case 7: body = .revokeAccessKey(id: string(upTo: 24))
        case 8: body = .deployProgram(account: string(upTo: 12), name: string(upTo: 12), module: bytes(upTo: 40))
        case 9: body = .invokeProgram(account: string(upTo: 12), name: string(upTo: 12), export: string(upTo: 12),
                                      arguments: (0..<int(0...3)).map { _ in Int64(bitPattern: u64()) })
        case 10: body = .listPrograms(account: string(upTo: 12))
        case 11: body = .removeProgram(account: string(upTo: 12), name: string(upTo: 12))
        case 12: body = .queueWrite(clientID: u64(), sequence: u64(), acknowledgedBelow: u64(), queue: string(upTo: 20),
                                    operation: queueOperation())
        case 13: body = .queueRead(queue: string(upTo: 20), from: bool() ? u64() : nil, maximum: u32(), consistency: consistency())
        case 14: body = .queueStatus(queue: string(upTo: 20), consistency: consistency())
        case 15: body = .queuePosition(queue: string(upTo: 20), group: string(upTo: 8), consistency: consistency())
        default: body = .nodeStatus
        }
        return ClientRequest(id: u64(), body: body)
    }

    mutating func queueOperation() -> QueueOperation {
        switch int(0...5) {
        case 0: .append(payload: bytes(upTo: 16), leader: bool() ? string(upTo: 6) : nil)
        case 1: .setLeader(string(upTo: 6), expected: bool() ? string(upTo: 6) : nil)
        case 2: .takeLease(holder: string(upTo: 6), milliseconds: u64())
        case 3: .renewLease(holder: string(upTo: 6), milliseconds: u64())
        case 4: .trim(through: u64())
        default: .commit(group: string(upTo: 6), sequence: u64())
        }
    }

    mutating func queueOutcome() -> QueueOutcome {
        let name: String? = bool() ? string(upTo: 6) : nil
        switch int(0...10) {
        case 0: return .appended(sequence: u64())
        case 1: return .fenced(current: name, leaseDeadlineMilliseconds: bool() ? u64() : nil)
        case 2: return .leaderSet(previous: name)
        case 3: return .leaderMismatch(current: name)
        case 4: return .leaseGranted(holder: string(upTo: 6), deadlineMilliseconds: u64())
        case 5: return .leaseHeld(holder: string(upTo: 6), deadlineMilliseconds: u64())
        case 6: return .leaseExpired(holder: name, deadlineMilliseconds: u64())
        case 7: return .trimmed(through: u64())
        case 8: return .committed(sequence: u64())
        case 9: return .badSequence(sequence: u64(), last: u64())
        default: return .unknownQueue
        }
    }

    mutating func write() -> WireWrite {
        let condition: WriteCondition = switch int(0...4) {
        case 0: .none
        case 1: .absent
        case 2: .exists
        case 3: .versionEquals(u64())
        default: .valueEquals(bytes(upTo: 6))
        }
        return WireWrite(key: string(upTo: 20), value: bool() ? bytes(upTo: 16) : nil, condition: condition)
    }

    mutating func consistency() -> ReadConsistency { bool() ? .strong : .eventual }

    mutating func response() -> ClientResponse {
        let body: ClientResponse.Body
        switch int(0...17) {
        case 0: body = .written(version: u64())
        case 1: body = .conditionFailed(write: u32(), currentVersion: bool() ? u64() : nil)
        case 2: body = .item(bool() ? item() : nil)
        case 3: body = .page(items: (0..<int(0...4)).map { _ in item() }, more: bool())
        case 4: body = .notLeader(leader: bool() ? string() : nil)
        case 5: body = .error(WireErrorCode.allCases[int(0...(WireErrorCode.allCases.count - 1))], string(upTo: 30))
        case 6: body = .clusterInfo(clusterInfo())
        case 7: body = .principal(name: string(upTo: 20), grants: grants())
        case 8: body = .accessKeyCreated(id: string(upTo: 24), secret: string(upTo: 64), record: bytes(upTo: 40))
        case 9: body = .accessKeys((0..<int(0...3)).map { _ in bytes(upTo: 40) })
        case 10: body = .programDeployed(program())
        case 11: body = .programs((0..<int(0...3)).map { _ in program() })
        case 12: body = .invoked(WireInvocation(node: string(upTo: 8), results: (0..<int(0...2)).map { _ in Int64(bitPattern: u64()) },
                                                fuelUsed: u64(), hostCalls: u32(), elapsedMicroseconds: u64(),
                                                logs: (0..<int(0...2)).map { _ in string(upTo: 12) }))
        case 13: body = .queueOutcome(queueOutcome())
        case 14: body = .queueEntries(WireQueueEntries(entries: (0..<int(0...3)).map { _ in (u64(), bytes(upTo: 12)) },
                                                       firstAvailable: u64(), lastSequence: u64()))
        case 15: body = .queueStatus(WireQueueStatus(lastSequence: u64(), trimmedThrough: u64(), leader: bool() ? string(upTo: 6) : nil,
                                                     leaseHolder: bool() ? string(upTo: 6) : nil, leaseDeadlineMilliseconds: u64()))
        case 16: body = .queuePosition(bool() ? u64() : nil)
        default: body = .nodeStatus(nodeStatus())
        }
        return ClientResponse(id: u64(), body: body)
    }

    mutating func program() -> WireProgram {
        WireProgram(name: string(upTo: 12), sizeBytes: u32(), version: u64(), sha256: string(upTo: 64),
                    exports: (0..<int(0...3)).map { _ in WireExport(name: string(upTo: 8), signature: string(upTo: 16)) })
    }

    mutating func grants() -> [WireGrant] {
        (0..<int(0...3)).map { _ in WireGrant(account: string(upTo: 12), permissions: UInt8(truncatingIfNeeded: u32())) }
    }

    mutating func item() -> WireItem { WireItem(sortKey: bytes(upTo: 8), value: bytes(upTo: 16), version: u64()) }

    /// Any weight but NaN (which is not equal to itself, so no frame holding it is).
    mutating func weight() -> Double {
        switch int(0...3) {
        case 0: return [0, -0.0, 1, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude][int(0...6)]
        case 1: return Double(int(1...100))
        default:
            let weight = Double(bitPattern: next())
            return weight.isNaN ? 0.5 : weight
        }
    }

    mutating func clusterInfo() -> ClusterInfo {
        ClusterInfo(
            members: (0..<int(0...4)).map { _ in
                ClusterInfo.MemberInfo(id: string(), address: string(), zone: string(upTo: 4), weight: weight())
            },
            cellDepth: byte(), replicas: byte(), placementForm: bool() ? "hierarchical" : string())
    }

    mutating func nodeStatus() -> NodeStatus {
        NodeStatus(memberID: string(), uptimeMilliseconds: u64(), cellsHosted: u32(), cellsLed: u32(),
                   cellsWithoutLeader: u32(), suspectedPeers: (0..<int(0...3)).map { _ in string() },
                   lagging: (0..<int(0...3)).map { _ in NodeStatus.LaggingReplica(cell: u64(), member: string(), entriesBehind: u64()) },
                   committedEntries: u64(), walBytes: u64())
    }

    // MARK: Damage

    /// Flips, overwrites, inserts or deletes a byte, cuts the tail, or writes a
    /// huge or small little-endian u32 (a lying count or length) somewhere.
    mutating func mutate(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { bytes.append(byte()); return }
        let position = int(0...(bytes.count - 1))
        switch int(0...5) {
        case 0: bytes[position] ^= UInt8(1) << UInt8(int(0...7))
        case 1: bytes[position] = byte()
        case 2: bytes.insert(byte(), at: position)
        case 3: bytes.remove(at: position)
        case 4: bytes.removeLast(int(1...bytes.count))
        default:
            let value: UInt32 = [0x8000_0000, .max, 0xFFFF, 1, 2, 3][int(0...5)]
            let end = min(position + 4, bytes.count)
            bytes.replaceSubrange(position..<end, with: withUnsafeBytes(of: value.littleEndian) { Array($0) }.prefix(end - position))
        }
    }
}

extension Frame {
    /// The bytes after the length prefix: what `Frame(body:)` decodes.
    var body: [UInt8] { Array(encoded().dropFirst(Frame.headerBytes)) }
}

/// `Frame(body:)` as a value, for tests that accept either outcome.
func decode(_ body: [UInt8]) -> Result<Frame, WireError> {
    Result { () throws(WireError) -> Frame in try Frame(body: body) }
}

/// A body of the given version and kind followed by whatever `fill` writes.
func body(version: UInt8 = Frame.version, kind: UInt8, _ fill: (inout WireWriter) -> Void = { _ in }) -> [UInt8] {
    var writer = WireWriter()
    writer.append(version)
    writer.append(kind)
    fill(&writer)
    return writer.bytes
}
