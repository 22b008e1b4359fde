/// A file the engine reads and writes by offset. The engine's only way to disk:
/// the real implementation uses POSIX calls, the simulated one memory.
public protocol StorageFile: AnyObject {
    var name: String { get }
    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int, count: Int) throws -> [UInt8]
    func write(_ bytes: [UInt8], at offset: Int) throws
    /// Makes every completed write durable (fdatasync).
    func sync() throws
    func size() throws -> Int
    func truncate(to size: Int) throws
    func close()
}

/// A folder of files: the data directory of one store.
public protocol StorageDirectory: AnyObject {
    /// Opens `name`, creating it empty if missing.
    func openFile(_ name: String) throws -> StorageFile
    func fileNames() throws -> [String]
    func removeFile(_ name: String) throws
    /// Makes file creations and removals durable (fsync of the directory).
    func sync() throws
    /// Releases the directory (and its lock) for another owner.
    func close()
}
