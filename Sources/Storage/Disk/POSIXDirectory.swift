#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Real files through `open`/`pread`/`pwrite`/`fdatasync`.
public final class POSIXDirectory: StorageDirectory {
    public let path: String
    private var lockDescriptor: Int32 = -1

    /// Opens (creating if needed) the folder and takes an exclusive lock on it,
    /// so that two processes never share one data directory.
    public init(path: String) throws {
        self.path = path
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw StorageError.io(file: path, operation: "mkdir", errno: errno)
        }
        let lockPath = path + "/LOCK"
        lockDescriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lockDescriptor < 0 { throw StorageError.io(file: lockPath, operation: "open", errno: errno) }
        if flock(lockDescriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            // Through close(), which forgets the descriptor: the throw still runs deinit,
            // and a second close could take a file another thread had opened meanwhile.
            close()
            if code == EWOULDBLOCK { throw StorageError.locked(path: path) }
            throw StorageError.io(file: lockPath, operation: "flock", errno: code)
        }
    }

    deinit { close() }

    public func close() {
        if lockDescriptor >= 0 {
            Glibc.close(lockDescriptor)
            lockDescriptor = -1
        }
    }

    public func openFile(_ name: String) throws -> StorageFile {
        let full = path + "/" + name
        let descriptor = open(full, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw StorageError.io(file: full, operation: "open", errno: errno) }
        return POSIXFile(name: name, path: full, descriptor: descriptor)
    }

    public func fileNames() throws -> [String] {
        guard let stream = opendir(path) else { throw StorageError.io(file: path, operation: "opendir", errno: errno) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func removeFile(_ name: String) throws {
        let full = path + "/" + name
        if unlink(full) != 0 && errno != ENOENT { throw StorageError.io(file: full, operation: "unlink", errno: errno) }
    }

    public func sync() throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor < 0 { throw StorageError.io(file: path, operation: "open", errno: errno) }
        defer { Glibc.close(descriptor) }
        if fsync(descriptor) != 0 { throw StorageError.io(file: path, operation: "fsync", errno: errno) }
    }
}

final class POSIXFile: StorageFile {
    let name: String
    let path: String
    private var descriptor: Int32

    init(name: String, path: String, descriptor: Int32) {
        self.name = name
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close() }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = buffer.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset + done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw StorageError.io(file: path, operation: "pread", errno: errno)
            }
            if result == 0 { break }
            done += result
        }
        if done < count { buffer.removeLast(count - done) }
        return buffer
    }

    func write(_ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                pwrite(descriptor, raw.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw StorageError.io(file: path, operation: "pwrite", errno: errno)
            }
            done += result
        }
    }

    func sync() throws {
        if fdatasync(descriptor) != 0 { throw StorageError.io(file: path, operation: "fdatasync", errno: errno) }
    }

    func size() throws -> Int {
        var status = stat()
        if fstat(descriptor, &status) != 0 { throw StorageError.io(file: path, operation: "fstat", errno: errno) }
        return Int(status.st_size)
    }

    func truncate(to size: Int) throws {
        if ftruncate(descriptor, off_t(size)) != 0 { throw StorageError.io(file: path, operation: "ftruncate", errno: errno) }
    }

    func close() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
    }
}

func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}
