import Foundation

/// An in-memory disk for tests and the simulator. It remembers which writes
/// are durable (synced) and which are not, can stop at a planned operation as
/// if the machine lost power, and then decides what the unsynced writes left
/// behind: nothing, everything, a torn last write, or any subset.
///
/// File creation, removal and truncation are treated as durable at once (the
/// engine syncs the directory after them anyway); data writes are not.
///
/// Every operation takes one lock, so a ``Store``'s threads may share the
/// disk; operations are counted in the order they take it.
public final class SimulatedDisk: StorageDirectory, @unchecked Sendable {
    let lock = NSRecursiveLock()

    final class FileState {
        var durable: [UInt8] = []
        var current: [UInt8] = []
        /// Writes since the last sync, oldest first.
        var unsynced: [(offset: Int, bytes: [UInt8])] = []
    }

    /// What survives of the unsynced writes at a crash.
    public enum CrashLoss: Sendable, Hashable {
        /// Every unsynced write is lost.
        case loseAll
        /// Every unsynced write reached the disk.
        case keepAll
        /// All but the last unsynced write of each file reached the disk; the last
        /// one reached it only up to `keepingBytes` of its bytes, cut back to a
        /// sector boundary (``sectorBytes``): a disk writes whole sectors.
        case tearLast(keepingBytes: Int)
        /// Each unsynced write survives or not by the bits of `mask` (bit i for the
        /// i-th unsynced write of a file, counted across files in name order).
        case subset(mask: UInt64)
    }

    private var files: [String: FileState] = [:]
    /// Data operations done so far (reads are free): writes, syncs, truncations.
    public private(set) var operationCount = 0
    /// When set, the operation with this number throws ``StorageError/simulatedCrash``
    /// instead of happening, and so does every later one until ``crash(_:)``.
    public var crashAtOperation: Int?
    public private(set) var hasCrashed = false
    public internal(set) var syncCount = 0

    public init() {}

    /// Applies `loss` to the unsynced writes and makes the disk usable again, as
    /// after a reboot. Open file handles from before stay dead.
    /// The unit a disk writes whole (what a torn write keeps is a prefix of these).
    public static let sectorBytes = 512

    public func crash(_ loss: CrashLoss) {
        lock.lock()
        defer { lock.unlock() }
        var writeIndex = 0
        for name in files.keys.sorted() {
            let state = files[name]!
            var image = state.durable
            for (position, write) in state.unsynced.enumerated() {
                let isLast = position == state.unsynced.count - 1
                var bytes = write.bytes
                switch loss {
                case .loseAll: bytes = []
                case .keepAll: break
                case .tearLast(let keeping):
                    // A disk writes whole 512-byte sectors: the tear falls on a sector boundary of the file.
                    if isLast {
                        let tearOffset = (write.offset + keeping) / Self.sectorBytes * Self.sectorBytes
                        bytes = Array(bytes.prefix(max(0, tearOffset - write.offset)))
                    }
                case .subset(let mask): if writeIndex >= 64 || mask >> UInt64(writeIndex) & 1 == 0 { bytes = [] }
                }
                writeIndex += 1
                if !bytes.isEmpty { Self.apply(bytes, at: write.offset, to: &image) }
            }
            state.durable = image
            state.current = image
            state.unsynced = []
        }
        hasCrashed = false
        crashAtOperation = nil
        generation += 1
    }

    /// Number of unsynced writes across all files, for tests that enumerate subsets.
    public var unsyncedWriteCount: Int { lock.withLock { files.values.reduce(0) { $0 + $1.unsynced.count } } }

    /// Flips one bit of a file's current and durable content (corruption tests).
    public func flipBit(in name: String, byteOffset: Int, bit: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard let state = files[name], byteOffset < state.current.count else { return }
        state.current[byteOffset] ^= 1 << UInt8(bit)
        if byteOffset < state.durable.count { state.durable[byteOffset] ^= 1 << UInt8(bit) }
    }

    public func fileSize(_ name: String) -> Int? { lock.withLock { files[name]?.current.count } }

    /// Handles opened before the last crash refuse all work.
    var generation = 0

    func step() throws {
        if hasCrashed { throw StorageError.simulatedCrash }
        operationCount += 1
        if let crashAt = crashAtOperation, operationCount >= crashAt {
            hasCrashed = true
            throw StorageError.simulatedCrash
        }
    }

    static func apply(_ bytes: [UInt8], at offset: Int, to image: inout [UInt8]) {
        if image.count < offset + bytes.count {
            image.append(contentsOf: [UInt8](repeating: 0, count: offset + bytes.count - image.count))
        }
        image.replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    func state(_ name: String) -> FileState {
        if let state = files[name] { return state }
        let state = FileState()
        files[name] = state
        return state
    }

    // MARK: StorageDirectory

    public func openFile(_ name: String) throws -> StorageFile {
        lock.lock()
        defer { lock.unlock() }
        if hasCrashed { throw StorageError.simulatedCrash }
        return SimulatedFile(name: name, disk: self, state: state(name), generation: generation)
    }

    public func fileNames() throws -> [String] {
        lock.lock()
        defer { lock.unlock() }
        if hasCrashed { throw StorageError.simulatedCrash }
        return files.keys.sorted()
    }

    public func removeFile(_ name: String) throws {
        lock.lock()
        defer { lock.unlock() }
        try step()
        files[name] = nil
    }

    public func sync() throws {
        try lock.withLock { try step() }
    }

    public func close() {}
}

final class SimulatedFile: StorageFile {
    let name: String
    private let disk: SimulatedDisk
    private let state: SimulatedDisk.FileState
    private let generation: Int

    init(name: String, disk: SimulatedDisk, state: SimulatedDisk.FileState, generation: Int) {
        self.name = name
        self.disk = disk
        self.state = state
        self.generation = generation
    }

    private func checkAlive() throws {
        if disk.hasCrashed || disk.generation != generation { throw StorageError.simulatedCrash }
    }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        disk.lock.lock()
        defer { disk.lock.unlock() }
        try checkAlive()
        guard offset < state.current.count else { return [] }
        return Array(state.current[offset..<min(offset + count, state.current.count)])
    }

    func write(_ bytes: [UInt8], at offset: Int) throws {
        disk.lock.lock()
        defer { disk.lock.unlock() }
        try checkAlive()
        try disk.step()
        SimulatedDisk.apply(bytes, at: offset, to: &state.current)
        state.unsynced.append((offset, bytes))
    }

    func sync() throws {
        disk.lock.lock()
        defer { disk.lock.unlock() }
        try checkAlive()
        try disk.step()
        disk.syncCount += 1
        state.durable = state.current
        state.unsynced = []
    }

    func size() throws -> Int {
        disk.lock.lock()
        defer { disk.lock.unlock() }
        try checkAlive()
        return state.current.count
    }

    func truncate(to size: Int) throws {
        disk.lock.lock()
        defer { disk.lock.unlock() }
        try checkAlive()
        try disk.step()
        if size < state.current.count { state.current.removeSubrange(size...) } else {
            state.current.append(contentsOf: [UInt8](repeating: 0, count: size - state.current.count))
        }
        // Truncation is metadata: durable at once, and unsynced writes beyond it vanish.
        if size < state.durable.count { state.durable.removeSubrange(size...) }
        state.unsynced = state.unsynced.compactMap { write in
            write.offset >= size ? nil : (write.offset, Array(write.bytes.prefix(size - write.offset)))
        }
    }

    func close() {}
}
