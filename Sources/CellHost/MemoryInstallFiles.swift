import Cell
import Synchronization

/// Retained snapshots kept in memory: a simulated machine's (they survive its
/// crashes as a synced file does; a node syncs the file before the install is
/// noted in its store) and tests'.
public final class MemoryInstallFiles: InstallFiles, Sendable {
    /// Released on a store's commit thread, retained and opened on its owner's.
    private let files = Mutex<[[UInt8]: [UInt8]]>([:])

    public init() {}

    /// Retained and not released yet.
    public var count: Int { files.withLock { $0.count } }

    public func retain(_ snapshot: Snapshot, cell: UInt64) throws -> [UInt8] {
        var reference: [UInt8] = []
        for value in [cell, snapshot.index, snapshot.ballot.number] {
            withUnsafeBytes(of: value.littleEndian) { reference.append(contentsOf: $0) }
        }
        files.withLock { $0[reference] = snapshot.state }
        return reference
    }

    public func open(_ reference: [UInt8], cell: UInt64) throws -> any SnapshotStateFile {
        guard let bytes = files.withLock({ $0[reference] }) else { throw MissingInstallFile(cell: cell) }
        return MemoryStateFile(bytes: bytes)
    }

    public func release(_ reference: [UInt8]) { _ = files.withLock { $0.removeValue(forKey: reference) } }

    public struct MissingInstallFile: Error, CustomStringConvertible {
        public let cell: UInt64
        public var description: String { "cell \(String(cell, radix: 16)) notes an install whose snapshot was never retained" }
    }
}

/// A snapshot's state bytes in memory.
public struct MemoryStateFile: SnapshotStateFile {
    public let bytes: [UInt8]
    public var byteCount: Int { bytes.count }

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public func read(offset: Int, count: Int) throws -> [UInt8] {
        Array(bytes[min(offset, bytes.count)..<min(bytes.count, offset + count)])
    }
}
