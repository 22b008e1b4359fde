import CellHost
import Foundation
import Storage
import Synchronization
import Wire

/// Where a node keeps snapshot files: those it made for lagging followers
/// (`outgoing`), those arriving from a leader (`incoming`), and those its
/// cells are installing (`installing`), each a ``POSIXDirectory`` (the
/// store's file layer, with its lock). The first two do not outlive the
/// process that made them: a restarted node clears both, a leader makes a new
/// snapshot on demand, and a follower is sent its snapshot again (no fsync).
/// A file moves to `installing`, synced, once a cell decides to install it,
/// and stays until the install is durable: a crash in between finishes the
/// install from it (see ``InstallMarker``).
/// Every error names the file and is a ``SnapshotFileError``, so that a failing
/// snapshot folder is told apart from a failing store.
final class SnapshotFiles: @unchecked Sendable {
    let directory: String
    private let outgoing: POSIXDirectory
    private let incoming: POSIXDirectory
    let installing: POSIXDirectory
    /// Install files a cell opened since the node started: the others are left from before a crash.
    let openedInstalls = Mutex<Set<String>>([])
    /// Distinguishes two snapshots of one cell at one index (a file may still be streaming when the next is made).
    private let serial = Atomic<UInt64>(0)

    init(directory: String) throws {
        self.directory = directory
        let manager = FileManager.default
        try? manager.removeItem(atPath: directory + "/outgoing")
        try? manager.removeItem(atPath: directory + "/incoming")
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        outgoing = try POSIXDirectory(path: directory + "/outgoing")
        incoming = try POSIXDirectory(path: directory + "/incoming")
        installing = try POSIXDirectory(path: directory + "/installing")
    }

    func outgoingPath(cell: UInt64, index: UInt64) -> String {
        let serial = serial.add(1, ordering: .relaxed).newValue
        return "\(outgoing.path)/\(String(cell, radix: 16))-\(index)-\(serial).snapshot"
    }

    func incomingPath(_ identity: SnapshotIdentity) -> String {
        "\(incoming.path)/\(String(identity.cell, radix: 16))-\(identity.index)-\(identity.ballot.number).part"
    }

    /// Opens `path` (one of this folder's) empty.
    func create(_ path: String) throws -> StorageFile {
        try failing(path, "create") {
            let (directory, name) = try folder(of: path)
            let file = try directory.openFile(name)
            try file.truncate(to: 0)
            return file
        }
    }

    /// `count` bytes from `offset`; fewer only if the file is shorter.
    func read(_ path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        try failing(path, "read") {
            let (directory, name) = try folder(of: path)
            let file = try directory.openFile(name)
            defer { file.close() }
            return try file.read(at: Int(offset), count: count)
        }
    }

    func write(_ bytes: [UInt8], to file: StorageFile, at offset: UInt64, path: String) throws {
        try failing(path, "write") { try file.write(bytes, at: Int(offset)) }
    }

    func remove(_ path: String) {
        guard let (directory, name) = try? folder(of: path) else { return }
        try? directory.removeFile(name)
    }

    /// Streams a cell's state at the build's index into a new file (on the
    /// caller's thread; never a shard's loop). The checksum is taken by
    /// reading the file back, since its first bytes are written last.
    func writeOutgoing(_ build: SnapshotBuild, from source: CellSnapshotSource) throws -> SnapshotDescriptor {
        let path = outgoingPath(cell: build.cell, index: build.index)
        var sink = FileSnapshotSink(files: self, path: path, file: try create(path))
        defer { sink.file.close() }
        do {
            try source.write(build, to: &sink)
            try sink.flush()
        } catch {
            remove(path)
            throw error
        }
        return SnapshotDescriptor(path: path, bytes: sink.length, checksum: try checksum(of: path, bytes: sink.length))
    }

    /// The CRC-32C of a file's first `bytes` bytes, read 4 MiB at a time.
    func checksum(of path: String, bytes: UInt64) throws -> UInt32 {
        var checksum: UInt32 = 0
        var offset: UInt64 = 0
        while offset < bytes {
            let piece = try read(path, offset: offset, count: Int(min(UInt64(4 << 20), bytes - offset)))
            guard !piece.isEmpty else { throw SnapshotFileError(path: path, operation: "read back", reason: "the file is shorter than written") }
            checksum = CRC32C.checksum(piece, seed: checksum)
            offset += UInt64(piece.count)
        }
        return checksum
    }

    func folder(of path: String) throws -> (directory: POSIXDirectory, name: String) {
        let name = (path as NSString).lastPathComponent
        let parent = (path as NSString).deletingLastPathComponent
        for directory in [outgoing, incoming, installing] where directory.path == parent { return (directory, name) }
        throw SnapshotFileError(path: path, operation: "find", reason: "not in \(directory)")
    }

    func failing<T>(_ path: String, _ operation: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SnapshotFileError {
            throw error
        } catch {
            throw SnapshotFileError(path: path, operation: operation, reason: "\(error)")
        }
    }
}

struct SnapshotFileError: Error, CustomStringConvertible {
    let path: String
    let operation: String
    let reason: String
    var description: String { "cannot \(operation) snapshot file \(path): \(reason)" }
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
    let files: SnapshotFiles
    let path: String
    let file: StorageFile
    private(set) var length: UInt64 = 0
    private var buffer: [UInt8] = []

    init(files: SnapshotFiles, path: String, file: StorageFile) {
        self.files = files
        self.path = path
        self.file = file
    }

    mutating func append(_ bytes: [UInt8]) throws {
        buffer += bytes
        length += UInt64(bytes.count)
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try files.write(buffer, to: file, at: length - UInt64(buffer.count), path: path)
        buffer.removeAll(keepingCapacity: true)
    }

    var bytesWritten: Int { Int(length) }

    mutating func patch(at offset: Int, _ bytes: [UInt8]) throws {
        try flush()
        try files.write(bytes, to: file, at: UInt64(offset), path: path)
    }
}
