import Cell
import Testing
import Wire

/// Sizes the decoder caps are accepted up to their limit and refused one past
/// it, with a reason naming the part and the limit.
@Suite struct LimitTests {
    @Test func aPeerMemberIDOfUpTo1024BytesIsAccepted() throws {
        let longest = Frame.hello(.peer(memberID: String(repeating: "€", count: 341) + "x", clusterFingerprint: 1))
        #expect(try Frame(body: longest.body) == longest)
        let tooLong = Frame.hello(.peer(memberID: String(repeating: "x", count: 1_025), clusterFingerprint: 1))
        #expect(throws: WireError("peer member id is 1025 bytes; the limit is 1024")) { try Frame(body: tooLong.body) }
    }

    @Test func keysUpToTheKeyLimitAreAccepted() throws {
        let key = String(repeating: "k", count: ClientRequest.keyBytesMaximum)
        let get = Frame.request(ClientRequest(id: 1, body: .get(key: key, consistency: .strong)))
        #expect(try Frame(body: get.body) == get)
        let tooLong = Frame.request(ClientRequest(id: 1, body: .get(key: key + "k", consistency: .strong)))
        #expect(throws: WireError("key is 16385 bytes; the limit is 16384")) { try Frame(body: tooLong.body) }

        let bound = [UInt8](repeating: 0xFF, count: ClientRequest.keyBytesMaximum)
        let query = Frame.request(ClientRequest(id: 1, body: .query(
            collection: key, from: bound, to: bound, reverse: false, limit: 1, after: bound, consistency: .eventual)))
        #expect(try Frame(body: query.body) == query)
        let tooLongAfter = Frame.request(ClientRequest(id: 1, body: .query(
            collection: "c", from: nil, to: nil, reverse: false, limit: 1, after: bound + [0], consistency: .eventual)))
        #expect(throws: WireError("query continuation is 16385 bytes; the limit is 16384")) { try Frame(body: tooLongAfter.body) }
    }

    @Test func valuesUpToTheValueLimitAreAccepted() throws {
        let value = [UInt8](repeating: 7, count: ClientRequest.valueBytesMaximum)
        let write = Frame.request(ClientRequest(id: 1, body: .write(clientID: 1, sequence: 1, acknowledgedBelow: 0, writes: [
            WireWrite(key: "k", value: value, condition: .valueEquals(value)),
        ])))
        #expect(try Frame(body: write.body) == write)
        let tooLong = Frame.request(ClientRequest(id: 1, body: .write(clientID: 1, sequence: 1, acknowledgedBelow: 0, writes: [
            WireWrite(key: "k", value: [0], condition: .valueEquals(value + [0])),
        ])))
        #expect(throws: WireError("expected value is 16777217 bytes; the limit is 16777216")) { try Frame(body: tooLong.body) }
    }

    @Test func anAcceptOfUpTo65536EntriesIsAccepted() throws {
        let entries = (1...65_536).map { LogEntry(index: UInt64($0), ballot: Ballot(3), payload: .noop) }
        let accept = Frame.cellMessages([CellEnvelope(cell: 1, message: .accept(
            ballot: Ballot(3), previousIndex: 0, previousBallot: .zero, entries: entries, commitIndex: 0, sentAt: .zero))])
        #expect(try Frame(body: accept.body) == accept)
        let tooMany = Frame.cellMessages([CellEnvelope(cell: 1, message: .accept(
            ballot: Ballot(3), previousIndex: 0, previousBallot: .zero,
            entries: entries + [LogEntry(index: 65_537, ballot: Ballot(3), payload: .noop)], commitIndex: 0, sentAt: .zero))])
        #expect(throws: WireError("accept carries 65537 entries; the limit is 65536")) { try Frame(body: tooMany.body) }
    }
}
