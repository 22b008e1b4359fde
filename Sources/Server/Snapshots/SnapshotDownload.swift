import Cell
import Foundation
import Storage
import Wire

/// A snapshot arriving at a follower, staged in a file: chunks are taken only
/// in order (a chunk past the end of what is held is answered with where to
/// resume), and the checksum of everything taken is kept as it grows. Only a
/// complete file whose checksum matches is installed.
final class SnapshotDownload {
    let identity: SnapshotIdentity
    let path: String
    private let files: SnapshotFiles
    private let file: StorageFile
    private(set) var received: UInt64 = 0
    private var checksum: UInt32 = 0
    private(set) var lastChunkAt: Instant
    /// A download without a chunk for this long is given up when room is needed.
    static let abandonedAfter = Duration.seconds(10)

    init(identity: SnapshotIdentity, files: SnapshotFiles, now: Instant) throws {
        self.identity = identity
        self.files = files
        path = files.incomingPath(identity)
        lastChunkAt = now
        file = try files.create(path)
    }

    deinit { file.close() }

    enum Outcome: Equatable {
        /// Taken, or past a gap (a chunk was lost): the receiver holds this many bytes.
        case holding(UInt64)
        /// Bytes the receiver holds already (a resend that crossed the answer): not answered,
        /// so that the sender does not take it for a loss and go back again.
        case duplicate
        /// Every byte arrived and the checksum matches.
        case complete
        /// Every byte arrived and the checksum does not match: start over.
        case corrupt(found: UInt32)
    }

    func take(_ chunk: SnapshotChunk, now: Instant) throws -> Outcome {
        precondition(chunk.identity == identity, "a chunk of another snapshot")
        lastChunkAt = now
        guard chunk.offset >= received else { return .duplicate }
        guard chunk.offset == received else { return .holding(received) }
        try files.write(chunk.bytes, to: file, at: chunk.offset, path: path)
        checksum = CRC32C.checksum(chunk.bytes, seed: checksum)
        received += UInt64(chunk.bytes.count)
        guard received == identity.bytes else { return .holding(received) }
        return checksum == identity.checksum ? .complete : .corrupt(found: checksum)
    }

    var descriptorForInstall: SnapshotDescriptor {
        SnapshotDescriptor(path: path, bytes: identity.bytes, checksum: identity.checksum)
    }
}
