import Foundation
import Storage
import Wire

/// Where a node keeps snapshot files: those it made for lagging followers
/// (`outgoing`) and those arriving from a leader (`incoming`). Neither outlives
/// the process that made it: a restarted node clears both, a leader makes a
/// new snapshot on demand, and a follower is sent its snapshot again.
struct SnapshotFiles: Sendable {
    let directory: String

    init(directory: String) throws {
        self.directory = directory
        let manager = FileManager.default
        try? manager.removeItem(atPath: directory)
        for part in ["outgoing", "incoming"] {
            try manager.createDirectory(atPath: directory + "/" + part, withIntermediateDirectories: true)
        }
    }

    func outgoingPath(cell: UInt64, index: UInt64) -> String {
        "\(directory)/outgoing/\(String(cell, radix: 16))-\(index).snapshot"
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
