import Cell
import Testing
import Wire

/// Every kind of frame decodes to itself, and its length prefix counts its body.
@Suite struct FrameRoundTripTests {
    @Test func randomFramesOfEveryKindSurviveAnEncodeDecodeRoundTrip() {
        var random = RandomFrames(seed: 0x57AB_1E)
        var seen: Set<String> = []
        var failures: [String] = []
        for _ in 0..<5_000 {
            let frame = random.frame()
            seen.formUnion(shapes(of: frame))
            let bytes = frame.encoded()
            let prefix = bytes.prefix(Frame.headerBytes).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let body = Array(bytes.dropFirst(Frame.headerBytes))
            if Int(prefix) != body.count || (try? Frame.bodyLength(prefix: prefix)) != body.count {
                failures.append("prefix \(prefix) for a body of \(body.count) bytes: \(frame)")
            }
            switch decode(body) {
            case .success(let decoded) where decoded == frame && decoded.encoded() == bytes: break
            case .success(let decoded): failures.append("\(frame) decoded as \(decoded)")
            case .failure(let error): failures.append("\(frame) failed to decode: \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
        // The generator reached every case and every optional field both ways.
        #expect(Self.everyShape.subtracting(seen).isEmpty, "never generated: \(Self.everyShape.subtracting(seen).sorted())")
    }

    @Test func edgeFramesSurviveARoundTrip() throws {
        let frames: [Frame] = [
            .heartbeat,
            .hello(.client),
            .hello(.peer(memberID: "", clusterFingerprint: 0)),
            .cellMessages([]),
            .cellMessages([CellEnvelope(cell: .max, message: .accept(
                ballot: Ballot(.max), previousIndex: .max, previousBallot: Ballot(.max), entries: [],
                commitIndex: .max, sentAt: Instant(nanoseconds: .min)))]),
            // A snapshot of an empty configuration and empty state: the smallest of its kind.
            .cellMessages([CellEnvelope(cell: 0, message: .installSnapshot(
                ballot: .zero, snapshot: Snapshot(index: 0, ballot: .zero, configuration: [], state: []), sentAt: .zero))]),
            // Arrays of minimal elements, last in their body: their counts are checked against exactly the bytes left.
            .cellMessages([CellEnvelope(cell: 1, message: .accept(
                ballot: Ballot(1), previousIndex: 0, previousBallot: .zero,
                entries: (1...20).map { LogEntry(index: $0, ballot: Ballot(1), payload: .noop) }
                    + [LogEntry(index: 21, ballot: Ballot(1), payload: .configuration([NodeID(0), NodeID(.max)]))],
                commitIndex: 0, sentAt: .zero))]),
            .request(ClientRequest(id: 0, body: .write(clientID: 0, sequence: 0, acknowledgedBelow: 0, writes: []))),
            .request(ClientRequest(id: 1, body: .write(clientID: 0, sequence: 0, acknowledgedBelow: 0,
                                                       writes: Array(repeating: WireWrite(key: "", value: nil), count: 9)))),
            .request(ClientRequest(id: .max, body: .query(collection: "", from: nil, to: nil, reverse: false, limit: 0,
                                                          after: nil, consistency: .strong))),
            .response(ClientResponse(id: 0, body: .page(items: Array(repeating: WireItem(sortKey: [], value: [], version: 0), count: 7), more: false))),
            .response(ClientResponse(id: 0, body: .clusterInfo(ClusterInfo(
                members: Array(repeating: .init(id: "", address: "", zone: "", weight: 0), count: 3),
                cellDepth: 0, replicas: 0, placementForm: "")))),
            .response(ClientResponse(id: 0, body: .nodeStatus(NodeStatus(
                memberID: "", uptimeMilliseconds: 0, cellsHosted: 0, cellsLed: 0, cellsWithoutLeader: 0,
                suspectedPeers: ["", ""], lagging: [.init(cell: 0, member: "", entriesBehind: 0)],
                committedEntries: 0, walBytes: 0)))),
            .response(ClientResponse(id: 0, body: .error(.internalError, ""))),
        ]
        for frame in frames {
            let bytes = frame.encoded()
            #expect(try Frame(body: Array(bytes.dropFirst(Frame.headerBytes))) == frame)
            #expect(bytes.prefix(Frame.headerBytes).elementsEqual(withUnsafeBytes(of: UInt32(bytes.count - Frame.headerBytes).littleEndian) { Array($0) }))
        }
        // The smallest frame is a heartbeat: a version and a kind.
        #expect(Frame.heartbeat.encoded() == [2, 0, 0, 0, Frame.version, 3])
    }

    /// The cases and optional fields a frame exercises, to check the generator's reach.
    func shapes(of frame: Frame) -> [String] {
        switch frame {
        case .hello(.client): return ["hello client"]
        case .hello(.clientWithAccessKey): return ["hello client with access key"]
        case .hello(.peer): return ["hello peer"]
        case .heartbeat: return ["heartbeat"]
        case .snapshotTransfer(.chunk): return ["snapshot chunk"]
        case .snapshotTransfer(.progress): return ["snapshot progress"]
        case .cellMessages(let envelopes):
            return [envelopes.isEmpty ? "no cell messages" : "cell messages"] + envelopes.flatMap { envelope -> [String] in
                switch envelope.message {
                case .prepare: return ["prepare"]
                case .promise: return ["promise"]
                case .accepted: return ["accepted"]
                case .installSnapshot: return ["snapshot"]
                case .accept(_, _, _, let entries, _, _):
                    return ["accept"] + entries.map { entry in
                        switch entry.payload {
                        case .noop: "noop entry"
                        case .command: "command entry"
                        case .configuration: "configuration entry"
                        }
                    }
                }
            }
        case .request(let request):
            switch request.body {
            case .write(_, _, _, let writes):
                return ["write"] + writes.flatMap { write -> [String] in
                    let condition = switch write.condition {
                    case .none: "no condition"
                    case .absent: "absent"
                    case .exists: "exists"
                    case .versionEquals: "version equals"
                    case .valueEquals: "value equals"
                    }
                    return [condition, write.value == nil ? "delete" : "put"]
                }
            case .get(_, let consistency): return ["get", "\(consistency)"]
            case .query(_, let from, let to, _, _, let after, let consistency):
                return ["query", "from \(from != nil)", "to \(to != nil)", "after \(after != nil)", "\(consistency)"]
            case .clusterInfo: return ["cluster info request"]
            case .nodeStatus: return ["node status request"]
            case .whoAmI: return ["who am I"]
            case .createAccessKey(_, let expiry): return ["create access key", "expiry \(expiry != nil)"]
            case .listAccessKeys: return ["list access keys"]
            case .revokeAccessKey: return ["revoke access key"]
            case .deployProgram: return ["deploy program"]
            case .invokeProgram: return ["invoke program"]
            case .listPrograms: return ["list programs"]
            case .removeProgram: return ["remove program"]
            case .queueWrite: return ["queue write"]
            case .queueRead(_, let from, _, _): return ["queue read", "queue from \(from != nil)"]
            case .queueStatus: return ["queue status request"]
            case .queuePosition: return ["queue position request"]
            }
        case .response(let response):
            switch response.body {
            case .written: return ["written"]
            case .conditionFailed(_, let version): return ["condition failed", "current version \(version != nil)"]
            case .item(let item): return ["item \(item != nil)"]
            case .page: return ["page"]
            case .notLeader(let leader): return ["leader \(leader != nil)"]
            case .error(let code, _): return ["error \(code)"]
            case .clusterInfo: return ["cluster info"]
            case .nodeStatus: return ["node status"]
            case .principal: return ["principal"]
            case .accessKeyCreated: return ["access key created"]
            case .accessKeys: return ["access keys"]
            case .programDeployed: return ["program deployed"]
            case .programs: return ["programs"]
            case .invoked: return ["invoked"]
            case .queueOutcome: return ["queue outcome"]
            case .queueEntries: return ["queue entries"]
            case .queueStatus: return ["queue status"]
            case .queuePosition(let position): return ["queue position \(position != nil)"]
            }
        }
    }

    static let everyShape: Set<String> = Set([
        "hello client", "hello peer", "heartbeat", "no cell messages", "cell messages", "snapshot chunk", "snapshot progress",
        "prepare", "promise", "accept", "accepted", "snapshot", "noop entry", "command entry", "configuration entry",
        "write", "no condition", "absent", "exists", "version equals", "value equals", "delete", "put",
        "get", "strong", "eventual", "query", "from true", "from false", "to true", "to false", "after true", "after false",
        "cluster info request", "node status request", "hello client with access key",
        "who am I", "create access key", "expiry true", "expiry false", "list access keys", "revoke access key",
        "principal", "access key created", "access keys",
        "deploy program", "invoke program", "list programs", "remove program", "program deployed", "programs", "invoked",
        "written", "condition failed", "current version true", "current version false", "item true", "item false", "page",
        "leader true", "leader false", "cluster info", "node status",
        "queue write", "queue read", "queue from true", "queue from false", "queue status request", "queue position request",
        "queue outcome", "queue entries", "queue status", "queue position true", "queue position false",
    ] + WireErrorCode.allCases.map { "error \($0)" })
}
