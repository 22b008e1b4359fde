import Cell
import CellHost
import Foundation
import Storage

#if canImport(Glibc)
    import Glibc
#endif

/// A cell installs a leader's snapshot from the file it arrived in, moved
/// to `installing` and synced before the install is noted in the store.
extension SnapshotFiles: InstallFiles {
    func retain(_ snapshot: Snapshot, cell: UInt64) throws -> [UInt8] {
        guard let staged = SnapshotDescriptor(decoding: snapshot.state) else {
            throw SnapshotInstallError(reason: "its state is not a snapshot file this node staged")
        }
        let name = "\(String(cell, radix: 16))-\(snapshot.index)-\(snapshot.ballot.number).snapshot"
        let path = "\(installing.path)/\(name)"
        try failing(staged.path, "sync") {
            let (directory, name) = try folder(of: staged.path)
            let file = try directory.openFile(name)
            defer { file.close() }
            try file.sync()
        }
        guard rename(staged.path, path) == 0 else {
            throw SnapshotFileError(path: staged.path, operation: "move to \(path)", reason: String(cString: strerror(errno)))
        }
        try failing(path, "sync the folder of") { try installing.sync() }
        // Named within the folder: the data directory may have moved by the time a restart reads it.
        return SnapshotDescriptor(path: name, bytes: staged.bytes, checksum: staged.checksum).encoded
    }

    /// The retained file a reference names.
    private func installPath(_ descriptor: SnapshotDescriptor) -> String {
        "\(installing.path)/\((descriptor.path as NSString).lastPathComponent)"
    }

    func open(_ reference: [UInt8], cell: UInt64) throws -> any SnapshotStateFile {
        guard let descriptor = SnapshotDescriptor(decoding: reference) else {
            throw SnapshotInstallError(reason: "cell \(String(cell, radix: 16)) notes an install file this node cannot name")
        }
        let path = installPath(descriptor)
        openedInstalls.withLock { _ = $0.insert(path) }
        guard FileManager.default.fileExists(atPath: path) else {
            throw SnapshotInstallError(reason: "cell \(String(cell, radix: 16)) is installing the snapshot in \(path), which is missing"
                                           + " (the node keeps it there until the install is durable)")
        }
        guard try checksum(of: path, bytes: descriptor.bytes) == descriptor.checksum else {
            throw SnapshotInstallError(reason: "its staged file \(path) changed after it was checked")
        }
        return StagedSnapshotFile(files: self, path: path, byteCount: Int(descriptor.bytes))
    }

    func release(_ reference: [UInt8]) {
        guard let descriptor = SnapshotDescriptor(decoding: reference) else { return }
        let path = installPath(descriptor)
        remove(path)
        openedInstalls.withLock { _ = $0.remove(path) }
    }

    /// Removes the install files no cell opened since the node started: a
    /// crash left them after their install was durable. (Call once the cells
    /// are restored: an interrupted install opens its file then.)
    func removeUnopenedInstallFiles() {
        let opened = openedInstalls.withLock { $0 }
        for name in (try? installing.fileNames()) ?? [] where name.hasSuffix(".snapshot") {
            let path = "\(installing.path)/\(name)"
            if !opened.contains(path) { remove(path) }
        }
    }
}

/// A staged snapshot's bytes, read from its file as the install goes.
struct StagedSnapshotFile: SnapshotStateFile {
    let files: SnapshotFiles
    let path: String
    let byteCount: Int

    func read(offset: Int, count: Int) throws -> [UInt8] {
        try files.read(path, offset: UInt64(offset), count: count)
    }
}

struct SnapshotInstallError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "cannot install a snapshot: \(reason)" }
}
