import Cell
import Testing
import Wire

/// A refused frame's reason reads as a sentence a peer's log can show as is:
/// which field ran out and where (offsets count from the byte after the length prefix).
@Suite struct ErrorMessageTests {
    /// `frame`'s body cut to `length` bytes must be refused with `reason`.
    func expectTruncated(_ frame: Frame, to length: Int, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let body = frame.body
        #expect(length < body.count, sourceLocation: sourceLocation)
        #expect(throws: WireError(reason), sourceLocation: sourceLocation) { try Frame(body: Array(body.prefix(length))) }
    }

    @Test func aTruncatedGetSaysWhichFieldRanOut() {
        // version, kind | id 2..<10 | request kind 10 | key length 11..<15 | key 15..<22 | consistency 22
        let get = Frame.request(ClientRequest(id: 1, body: .get(key: "a/b/c/d", consistency: .strong)))
        #expect(get.body.count == 23)
        expectTruncated(get, to: 0, "truncated frame version at byte 0")
        expectTruncated(get, to: 1, "truncated frame kind at byte 1")
        expectTruncated(get, to: 5, "truncated request id at byte 2")
        expectTruncated(get, to: 10, "truncated request kind at byte 10")
        expectTruncated(get, to: 12, "truncated length of key at byte 11")
        expectTruncated(get, to: 18, "truncated key: 7 bytes announced, 3 left")
        expectTruncated(get, to: 22, "truncated read consistency at byte 22")
    }

    @Test func aTruncatedWriteSaysWhichFieldRanOut() {
        // id 2..<10 | kind 10 | client 11..<19 | sequence 19..<27 | acknowledged-below 27..<35 | count 35..<39
        // | key length 39..<43 | key 43 | value presence 44 | condition kind 45 | expected version 46..<54
        let write = Frame.request(ClientRequest(id: 1, body: .write(clientID: 2, sequence: 3, acknowledgedBelow: 1, writes: [
            WireWrite(key: "k", value: nil, condition: .versionEquals(5)),
        ])))
        #expect(write.body.count == 54)
        expectTruncated(write, to: 15, "truncated client id at byte 11")
        expectTruncated(write, to: 20, "truncated sequence at byte 19")
        expectTruncated(write, to: 30, "truncated acknowledged-below at byte 27")
        expectTruncated(write, to: 36, "truncated count of writes at byte 35")
        expectTruncated(write, to: 39, "1 writes announced, but only 0 bytes are left")
        // A count is checked against the bytes left before its elements are read: too few for even the smallest
        // write (a 4-byte key length, a value flag and a condition kind), and the count is what gets named.
        expectTruncated(write, to: 44, "1 writes announced, but only 5 bytes are left")
        expectTruncated(write, to: 45, "truncated condition kind at byte 45")
        expectTruncated(write, to: 50, "truncated expected version at byte 46")
    }

    @Test func truncatedQueriesResponsesAndCellMessagesSayWhichFieldRanOut() {
        let query = Frame.request(ClientRequest(id: 1, body: .query(
            collection: "c", from: [1], to: nil, reverse: true, limit: 10, after: [2, 3], consistency: .eventual)))
        // id, kind | collection 11..<16 | from presence 16, length 17..<21, byte 21 | to presence 22 | reverse 23
        // | limit 24..<28 | after presence 28, length 29..<33, bytes 33..<35 | consistency 35
        expectTruncated(query, to: 20, "truncated length of query start at byte 17")
        expectTruncated(query, to: 23, "truncated query direction at byte 23")
        expectTruncated(query, to: 26, "truncated query limit at byte 24")
        expectTruncated(query, to: 34, "truncated query continuation: 2 bytes announced, 1 left")

        let info = Frame.response(ClientResponse(id: 1, body: .clusterInfo(ClusterInfo(
            members: [.init(id: "n1", address: "a", zone: "", weight: 1)], cellDepth: 8, replicas: 3, placementForm: "flat"))))
        // id, kind | count 11..<15 | id 15..<21 | address 21..<26 | zone 26..<30 | weight 30..<38 | depth 38 | replicas 39
        expectTruncated(info, to: 33, "1 members announced, but only 18 bytes are left")
        expectTruncated(info, to: 36, "truncated member weight at byte 30")
        expectTruncated(info, to: 39, "truncated replica count at byte 39")

        // id, kind | count 11..<15 | more 15
        expectTruncated(.response(ClientResponse(id: 1, body: .page(items: [], more: true))), to: 15, "truncated more-items at byte 15")

        let accept = Frame.cellMessages([CellEnvelope(cell: 7, message: .accept(
            ballot: Ballot(2), previousIndex: 1, previousBallot: Ballot(1), entries: [LogEntry(index: 2, ballot: Ballot(2), payload: .command([1, 2]))],
            commitIndex: 1, sentAt: Instant(nanoseconds: 5)))])
        // count 2..<6 | cell 6..<14 | kind 14 | ballot, previous index, previous ballot, commit index | sent-at 47..<55
        // | entries 55..<59 | entry index 59..<67, ballot 67..<75, kind 75, command length 76..<80, bytes 80..<82,
        // checksum 82..<90
        expectTruncated(accept, to: 10, "1 cell messages announced, but only 4 bytes are left")
        expectTruncated(accept, to: 18, "truncated accept ballot at byte 15")
        expectTruncated(accept, to: 50, "truncated accept sent-at at byte 47")
        expectTruncated(accept, to: 70, "1 log entries announced, but only 11 bytes are left")
        expectTruncated(accept, to: 86, "truncated entry checksum at byte 82")
    }

    @Test func reasonsAreTheErrorsDescription() {
        let error = #expect(throws: WireError.self) { try Frame(body: [Frame.version]) }
        #expect(error?.reason == "truncated frame kind at byte 1")
        #expect(error.map { String(describing: $0) } == "truncated frame kind at byte 1")
        #expect(error.map { "\($0)" } == error?.description)
    }
}
