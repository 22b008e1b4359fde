import Foundation
import Storage
import Synchronization
import Wire

/// Where a node keeps snapshot files: those it made for lagging followers
/// (`outgoing`) and those arriving from a leader (`incoming`). Neither outlives
/// the process that made it: a restarted node clears both, a leader makes a
/// new snapshot on demand, and a follower is sent its snapshot again.
final class SnapshotFiles: Sendable {
    let directory: String

    init(directory: String) throws {
        self.directory = directory
        let manager = FileManager.default
        try? manager.removeItem(atPath: directory)
        for part in ["outgoing", "incoming"] {
            try manager.createDirectory(atPath: directory + "/" + part, withIntermediateDirectories: true)
        }
    }

    /// Distinguishes two snapshots of one cell at one index (a file may still be streaming when the next is made).
    private let serial = Atomic<UInt64>(0)

    func outgoingPath(cell: UInt64, index: UInt64) -> String {
        let serial = serial.add(1, ordering: .relaxed).newValue
        return "\(directory)/outgoing/\(String(cell, radix: 16))-\(index)-\(serial).snapshot"
    }

    func incomingPath(_ identity: SnapshotIdentity) -> String {
        "\(directory)/incoming/\(String(identity.cell, radix: 16))-\(identity.index)-\(identity.ballot.number).part"
    }

    /// Writes a whole snapshot and says where it is. No fsync: the file is
    /// rebuilt after a crash, never trusted across one.
    func writeOutgoing(_ bytes: [UInt8], cell: UInt64, index: UInt64) throws -> SnapshotDescriptor {
        let path = outgoingPath(cell: cell, index: index)
        let descriptor = try SnapshotFile.create(path)
        defer { close(descriptor) }
        try SnapshotFile.write(bytes[...], to: descriptor, at: 0, path: path)
        return SnapshotDescriptor(path: path, bytes: UInt64(bytes.count), checksum: CRC32C.checksum(bytes))
    }

    /// Streams a cell's state at the build's index into a new file (on the
    /// caller's thread; never a shard's loop). The checksum is taken by
    /// reading the file back, since its first bytes are written last.
    func writeOutgoing(_ build: SnapshotBuild, from source: CellSnapshotSource) throws -> SnapshotDescriptor {
        let path = outgoingPath(cell: build.cell, index: build.index)
        var sink = FileSnapshotSink(path: path, descriptor: try SnapshotFile.create(path))
        defer { close(sink.descriptor) }
        do {
            try source.write(build, to: &sink)
            try sink.flush()
        } catch {
            remove(path)
            throw error
        }
        var checksum: UInt32 = 0
        var offset: UInt64 = 0
        while offset < sink.length {
            let piece = try SnapshotFile.read(path, offset: offset, count: Int(min(UInt64(4 << 20), sink.length - offset)))
            guard !piece.isEmpty else { throw SnapshotFileError(path: path, operation: "read back", code: EIO) }
            checksum = CRC32C.checksum(piece, seed: checksum)
            offset += UInt64(piece.count)
        }
        return SnapshotDescriptor(path: path, bytes: sink.length, checksum: checksum)
    }

    func remove(_ path: String) {
        unlink(path)
    }
}

/// The few POSIX calls snapshot files need, with errors that name the file.
enum SnapshotFile {
    static func create(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SnapshotFileError(path: path, operation: "create", code: errno) }
        return descriptor
    }

    static func write(_ bytes: ArraySlice<UInt8>, to descriptor: Int32, at offset: UInt64, path: String) throws {
        var done = 0
        try bytes.withUnsafeBytes { buffer in
            while done < buffer.count {
                let written = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw SnapshotFileError(path: path, operation: "write", code: errno) }
                done += written
            }
        }
    }

    /// `count` bytes from `offset`; fewer only if the file is shorter.
    static func read(_ path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SnapshotFileError(path: path, operation: "open", code: errno) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let got = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if got < 0, errno == EINTR { continue }
                guard got >= 0 else { throw SnapshotFileError(path: path, operation: "read", code: errno) }
                if got == 0 { break }
                done += got
            }
        }
        bytes.removeSubrange(done...)
        return bytes
    }
}

struct SnapshotFileError: Error, CustomStringConvertible {
    let path: String
    let operation: String
    let code: Int32
    var description: String { "cannot \(operation) snapshot file \(path): \(String(cString: strerror(code)))" }
}

/// What a replica holds as a snapshot's `state` on a node: where the bytes
/// are, not the bytes (a cell's state can be far larger than a message or
/// than what should sit in memory).
struct SnapshotDescriptor: Equatable, Sendable {
    static let magic = Array("TSD1".utf8)

    let path: String
    let bytes: UInt64
    let checksum: UInt32

    var encoded: [UInt8] {
        var writer = WireWriter()
        for byte in Self.magic { writer.append(byte) }
        writer.append(bytes)
        writer.append(checksum)
        writer.appendString(path)
        return writer.bytes
    }

    init(path: String, bytes: UInt64, checksum: UInt32) {
        self.path = path
        self.bytes = bytes
        self.checksum = checksum
    }

    /// Nil for state bytes that are not a descriptor (made by this node only, so never expected).
    init?(decoding state: [UInt8]) {
        guard state.starts(with: Self.magic) else { return nil }
        var reader = WireReader(Array(state.dropFirst(Self.magic.count)))
        guard let bytes = try? reader.read(UInt64.self, "snapshot size"),
            let checksum = try? reader.read(UInt32.self, "snapshot checksum"),
            let path = try? reader.readString("snapshot path", maximum: 4096), (try? reader.expectEnd("descriptor")) != nil
        else { return nil }
        self.init(path: path, bytes: bytes, checksum: checksum)
    }
}

/// A snapshot written to a file through a 1 MiB buffer.
struct FileSnapshotSink: SnapshotSink {
    let path: String
    let descriptor: Int32
    private(set) var length: UInt64 = 0
    private var buffer: [UInt8] = []

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    mutating func append(_ bytes: [UInt8]) throws {
        buffer += bytes
        length += UInt64(bytes.count)
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try SnapshotFile.write(buffer[...], to: descriptor, at: length - UInt64(buffer.count), path: path)
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func patchStart(_ bytes: [UInt8]) throws {
        try flush()
        try SnapshotFile.write(bytes[...], to: descriptor, at: 0, path: path)
    }
}
