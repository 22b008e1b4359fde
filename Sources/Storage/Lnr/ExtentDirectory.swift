import Foundation

/// The folder of a node's queue extents. ``StorageDirectory`` promises nothing
/// about threads, so every directory operation here takes one lock; readers and
/// writers, once made, work on their own files without it.
public final class ExtentDirectory: @unchecked Sendable {
    private let directory: StorageDirectory
    private let lock = NSLock()

    public init(directory: StorageDirectory) {
        self.directory = directory
    }

    /// The real folder at `path`, created if missing and locked against other processes.
    public static func open(path: String) throws -> ExtentDirectory {
        ExtentDirectory(directory: try POSIXDirectory(path: path))
    }

    /// IDs of the extent files present, ascending; other files (the folder's lock, say) are ignored.
    public func extentIDs() throws -> [UInt64] {
        try lock.withLock {
            try directory.fileNames().compactMap { ExtentFormat.extentID(ofFileName: $0) }.sorted()
        }
    }

    /// One past the highest ID present, or 1: IDs then keep the order extents were made in.
    public func nextExtentID() throws -> UInt64 {
        guard let highest = try extentIDs().last else { return 1 }
        guard highest < UInt64.max else {
            throw ExtentError.corrupt(file: ExtentFormat.fileName(highest), reason: "no extent ID is left after it")
        }
        return highest + 1
    }

    /// Removes the extent's file and makes the removal durable.
    public func remove(_ id: UInt64) throws {
        try lock.withLock {
            try directory.removeFile(ExtentFormat.fileName(id))
            try directory.sync()
        }
    }

    public func fileBytes(_ id: UInt64) throws -> Int {
        try lock.withLock {
            try requireFile(id)
            let file = try directory.openFile(ExtentFormat.fileName(id))
            defer { file.close() }
            return try file.size()
        }
    }

    public func openReader(_ id: UInt64) throws -> ExtentReader {
        try lock.withLock {
            try requireFile(id)
            return try ExtentReader(directory: directory, extentID: id)
        }
    }

    public func makeWriter(extentID: UInt64, queueTag: [UInt8], firstSeq: UInt64) throws -> ExtentWriter {
        try lock.withLock {
            try ExtentWriter(directory: directory, extentID: extentID, queueTag: queueTag, firstSeq: firstSeq)
        }
    }

    /// Releases the folder (and its lock) for another owner.
    public func close() {
        lock.withLock { directory.close() }
    }

    /// Opening a file creates it if missing: check first, so that asking for a
    /// lost extent reports it instead of leaving an empty file behind.
    private func requireFile(_ id: UInt64) throws {
        let name = ExtentFormat.fileName(id)
        guard try directory.fileNames().contains(name) else { throw ExtentError.missing(file: name) }
    }
}
