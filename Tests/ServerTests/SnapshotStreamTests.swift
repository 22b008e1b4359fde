import Cell
import Foundation
import Storage
import Testing
import Wire

@testable import Server

/// A snapshot streamed in chunks over a link that loses messages and drops
/// connections: the receiver ends up with exactly the sender's bytes, the
/// sender never has more than its window unconfirmed, and a stalled stream
/// resumes from what the receiver holds.
@Suite struct SnapshotStreamTests {
    struct Link {
        var random: SplitMix64
        /// Chance in 1,000 that a message is lost.
        var lossPerMille: UInt64
        mutating func delivers() -> Bool { random.next() % 1000 >= lossPerMille }
    }

    static func withDirectory(_ body: (SnapshotFiles) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-snap-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(try SnapshotFiles(directory: path))
    }

    static func content(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Runs one stream to its end (or `stepsMaximum`) and returns the staged bytes and the steps taken.
    static func stream(_ source: [UInt8], files: SnapshotFiles, link: inout Link, stepsMaximum: Int = 10_000)
        throws -> (staged: [UInt8]?, steps: Int)
    {
        let sent = try files.writeOutgoing(source, cell: 3, index: 40)
        let identity = SnapshotIdentity(cell: 3, index: 40, ballot: Ballot(9), bytes: sent.bytes, checksum: sent.checksum)
        var upload = SnapshotUpload(peer: NodeID(1), identity: identity, path: sent.path, leaderBallot: Ballot(12),
                                    sentAt: .zero, configuration: [NodeID(0), NodeID(1), NodeID(2)], now: .zero)
        let download = try SnapshotDownload(identity: identity, files: files, now: .zero)
        var now = Instant.zero
        var inFlight: [SnapshotChunk] = []
        var answers: [UInt64] = []
        for step in 1...stepsMaximum {
            now = now + .milliseconds(100)
            for range in upload.due() {
                #expect(range.count <= SnapshotTransfer.chunkBytesMaximum)
                let bytes = try files.read(sent.path, offset: range.lowerBound, count: Int(range.count))
                if link.delivers() {
                    inFlight.append(SnapshotChunk(identity: identity, leaderBallot: Ballot(12), sentAt: now,
                                                  configuration: upload.configuration, offset: range.lowerBound, bytes: bytes))
                }
            }
            #expect(upload.sentThrough - upload.confirmed <= SnapshotUpload.windowBytes)
            for chunk in inFlight {
                switch try download.take(chunk, now: now) {
                case .holding(let received): if link.delivers() { answers.append(received) }
                case .duplicate: break
                case .complete:
                    #expect(download.received == identity.bytes)
                    return (try files.read(download.path, offset: 0, count: source.count + 1), step)
                case .corrupt(let found): Issue.record("checksum \(found) does not match \(identity.checksum)")
                }
            }
            inFlight = []
            for received in answers { upload.heard(received: received, now: now) }
            answers = []
            // The replica asks again at every heartbeat.
            upload.resumeIfStalled(now: now)
        }
        return (nil, stepsMaximum)
    }

    /// An upload whose ranges alone are looked at (its file is never read).
    static func upload(bytes: UInt64) -> SnapshotUpload {
        let identity = SnapshotIdentity(cell: 1, index: 2, ballot: Ballot(3), bytes: bytes, checksum: 0)
        return SnapshotUpload(peer: NodeID(1), identity: identity, path: "/nonexistent", leaderBallot: Ballot(3),
                              sentAt: .zero, configuration: [], now: .zero)
    }

    @Test func aStreamOverAPerfectLinkDeliversEveryByteInWindowedChunks() throws {
        try Self.withDirectory { files in
            let source = Self.content(9 << 20 | 12_345, seed: 1)
            var link = Link(random: SplitMix64(seed: 2), lossPerMille: 0)
            let (staged, steps) = try Self.stream(source, files: files, link: &link)
            #expect(staged == source)
            #expect(steps <= 4, "a 9 MiB stream with a 4 MiB window took \(steps) round trips")
        }
    }

    @Test(arguments: [50, 200, 500] as [UInt64]) func aStreamOverALossyLinkResumesAndDeliversEveryByte(lossPerMille: UInt64) throws {
        try Self.withDirectory { files in
            for seed: UInt64 in 1...6 {
                let source = Self.content(Int(seed) * 700_001, seed: seed)
                var link = Link(random: SplitMix64(seed: seed &* 31), lossPerMille: lossPerMille)
                let (staged, steps) = try Self.stream(source, files: files, link: &link)
                #expect(staged == source, "seed \(seed), \(lossPerMille)‰ lost: not delivered after \(steps) steps")
            }
        }
    }

    @Test func aReceiverThatStartedOverIsSentEverythingAgain() throws {
        var upload = Self.upload(bytes: 10 << 20)
        #expect(upload.due().count == 4)
        upload.heard(received: 2 << 20, now: .zero)
        #expect(upload.due() == [(4 << 20)..<(5 << 20), (5 << 20)..<(6 << 20)])
        // The receiver lost its staging (a wrong checksum): it holds nothing now.
        upload.heard(received: 0, now: .zero)
        #expect(upload.confirmed == 0)
        #expect(upload.due().first == 0..<(1 << 20))
    }

    @Test func aDuplicateAnswerRewindsOnceNotOncePerChunk() throws {
        var upload = Self.upload(bytes: 10 << 20)
        _ = upload.due()
        upload.heard(received: 1 << 20, now: .zero)  // chunk 0 taken
        _ = upload.due()
        // Chunk 1 was lost: chunks 2, 3 and 4 are each answered "holding 1 MiB".
        upload.heard(received: 1 << 20, now: .zero)
        #expect(upload.due().first == (1 << 20)..<(2 << 20))
        upload.heard(received: 1 << 20, now: .zero)
        upload.heard(received: 1 << 20, now: .zero)
        #expect(upload.due().isEmpty, "the window is full again: nothing more to send until an answer advances")
    }

    /// A resend after a silence crosses the answers to the chunks it repeats:
    /// the duplicates are not answered, so the stream goes on from the answers
    /// and sends each chunk at most twice, not every window twice to the end.
    @Test func aResendThatCrossesTheAnswersSendsEachChunkAtMostTwice() throws {
        try Self.withDirectory { files in
            let source = Self.content(8 << 20, seed: 9)
            let sent = try files.writeOutgoing(source, cell: 3, index: 40)
            let identity = SnapshotIdentity(cell: 3, index: 40, ballot: Ballot(9), bytes: sent.bytes, checksum: sent.checksum)
            var upload = SnapshotUpload(peer: NodeID(1), identity: identity, path: sent.path, leaderBallot: Ballot(9),
                                        sentAt: .zero, configuration: [], now: .zero)
            let download = try SnapshotDownload(identity: identity, files: files, now: .zero)
            var sends: [UInt64: Int] = [:]
            var inFlight: [Range<UInt64>] = []
            func send(_ ranges: [Range<UInt64>]) {
                for range in ranges { sends[range.lowerBound, default: 0] += 1 }
                inFlight += ranges
            }
            send(upload.due())
            // Slow answers: the replica offers again after the stall timeout, and the window goes again.
            upload.resumeIfStalled(now: .zero + SnapshotUpload.stallTimeout)
            send(upload.due())
            var now = Instant.zero + SnapshotUpload.stallTimeout
            var outcome = SnapshotDownload.Outcome.duplicate
            while !inFlight.isEmpty, outcome != .complete {
                let range = inFlight.removeFirst()
                let bytes = Array(source[Int(range.lowerBound)..<Int(range.upperBound)])
                let chunk = SnapshotChunk(identity: identity, leaderBallot: Ballot(9), sentAt: .zero, configuration: [],
                                          offset: range.lowerBound, bytes: bytes)
                now = now + .milliseconds(10)
                outcome = try download.take(chunk, now: now)
                if case .holding(let received) = outcome { upload.heard(received: received, now: now) }
                if outcome == .complete { upload.heard(received: identity.bytes, now: now) }
                send(upload.due())
            }
            #expect(outcome == .complete)
            #expect(upload.isComplete)
            #expect(sends.values.allSatisfy { $0 <= 2 }, "chunks sent more than twice: \(sends.filter { $0.value > 2 })")
            #expect(sends.values.reduce(0, +) <= 12, "\(sends.values.reduce(0, +)) chunk sends for 8 chunks")
        }
    }

    @Test func aDeliveredSnapshotIsNotSentAgainUntilTheReplicaStillAsksLongAfter() throws {
        var upload = Self.upload(bytes: 3 << 20)
        #expect(upload.due().count == 3)
        upload.heard(received: 3 << 20, now: .zero)
        #expect(upload.isComplete)
        // A stray answer to a duplicate chunk, and the replica's retransmits soon after, change nothing.
        upload.heard(received: 0, now: .zero + .seconds(1))
        upload.resumeIfStalled(now: .zero + .seconds(5))
        #expect(upload.isComplete && upload.due().isEmpty)
        // Asked again well after delivery: the follower did not take it, so it goes again whole.
        upload.resumeIfStalled(now: .zero + SnapshotUpload.redeliveryDelay)
        #expect(!upload.isComplete)
        #expect(upload.due().first == 0..<(1 << 20))
    }

    @Test func aCorruptedStreamIsNeverReportedComplete() throws {
        try Self.withDirectory { files in
            let source = Self.content(3 << 20, seed: 5)
            let identity = SnapshotIdentity(cell: 1, index: 2, ballot: Ballot(3), bytes: UInt64(source.count),
                                            checksum: CRC32C.checksum(source))
            let download = try SnapshotDownload(identity: identity, files: files, now: .zero)
            var outcome = SnapshotDownload.Outcome.holding(0)
            for offset in stride(from: 0, to: source.count, by: 1 << 20) {
                var bytes = Array(source[offset..<offset + (1 << 20)])
                if offset == 1 << 20 { bytes[77] ^= 0x10 }
                let chunk = SnapshotChunk(identity: identity, leaderBallot: Ballot(3), sentAt: .zero,
                                          configuration: [], offset: UInt64(offset), bytes: bytes)
                outcome = try download.take(chunk, now: .zero)
            }
            guard case .corrupt = outcome else {
                Issue.record("a flipped bit was taken as \(outcome)")
                return
            }
        }
    }

    @Test func aDescriptorRoundTripsAndOtherStateIsNotTakenForOne() {
        let descriptor = SnapshotDescriptor(path: "/data/snapshots/outgoing/3-40.snapshot", bytes: 123, checksum: 0xDEAD_BEEF)
        #expect(SnapshotDescriptor(decoding: descriptor.encoded) == descriptor)
        #expect(SnapshotDescriptor(decoding: []) == nil)
        #expect(SnapshotDescriptor(decoding: Array(descriptor.encoded.dropLast())) == nil)
        #expect(SnapshotDescriptor(decoding: [0, 0, 0, 0] + descriptor.encoded) == nil)
    }
}

extension SnapshotFiles {
    /// A whole snapshot written at once, as a leader's file would be.
    func writeOutgoing(_ bytes: [UInt8], cell: UInt64, index: UInt64) throws -> SnapshotDescriptor {
        let path = outgoingPath(cell: cell, index: index)
        let file = try create(path)
        defer { file.close() }
        try write(bytes, to: file, at: 0, path: path)
        return SnapshotDescriptor(path: path, bytes: UInt64(bytes.count), checksum: CRC32C.checksum(bytes))
    }
}
