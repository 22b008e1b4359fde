import Cell
import Testing
import Wire

/// A log entry's checksum travels with it: a frame whose entry was damaged on
/// the way is refused naming the entry, and an intact one passes.
struct LogEntryChecksumTests {
    func acceptFrame(_ entry: LogEntry) -> Frame {
        .cellMessages([CellEnvelope(cell: 3, message: .accept(
            ballot: Ballot(4), previousIndex: entry.index - 1, previousBallot: Ballot(4), entries: [entry],
            commitIndex: 0, sentAt: .zero))])
    }

    @Test func anIntactEntryDecodesWithItsChecksum() throws {
        let entry = LogEntry(index: 12, ballot: Ballot(4), payload: .command(Array("hello".utf8)))
        #expect(entry.isIntact)
        let bytes = acceptFrame(entry).encoded()
        #expect(try Frame(body: Array(bytes.dropFirst(Frame.headerBytes))) == acceptFrame(entry))
    }

    @Test func everyDamagedPayloadByteIsCaught() throws {
        let entry = LogEntry(index: 12, ballot: Ballot(4), payload: .command(Array("hello, world".utf8)))
        let body = Array(acceptFrame(entry).encoded().dropFirst(Frame.headerBytes))
        // The command's bytes sit just before the entry's 8-byte checksum, at the end of the frame.
        let commandEnd = body.count - 8
        for position in (commandEnd - 12)..<commandEnd {
            var damaged = body
            damaged[position] ^= 0x20
            #expect(throws: WireError("log entry 12 (ballot 4) fails its checksum: it was corrupted after its leader made it")) {
                try Frame(body: damaged)
            }
        }
    }

    @Test func theChecksumCoversIndexBallotAndPayloadKind() {
        let entry = LogEntry(index: 5, ballot: Ballot(2), payload: .noop)
        var moved = entry
        moved.index = 6
        var reballoted = entry
        reballoted.ballot = Ballot(3)
        var rekinded = entry
        rekinded.payload = .command([])
        #expect(entry.isIntact)
        #expect(!moved.isIntact && !reballoted.isIntact && !rekinded.isIntact)
    }
}
