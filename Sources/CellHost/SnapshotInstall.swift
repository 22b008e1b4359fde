import Cell
import Keyspace
import Storage
import Synchronization

/// A leader's snapshot staged on this node, read back while it is installed.
public protocol SnapshotStateFile {
    var byteCount: Int { get }
    /// `count` bytes from `offset` (fewer only past the end).
    func read(offset: Int, count: Int) throws -> [UInt8]
}

/// Where a node keeps the snapshots its cells install, from the moment the
/// install is decided until it is durable in the page store: a crash in
/// between redoes the install from there.
public protocol InstallFiles: AnyObject, Sendable {
    /// Makes a received snapshot's state durable (the install is redone from
    /// it after a crash); returns how ``open(_:cell:)`` finds it again.
    func retain(_ snapshot: Snapshot, cell: UInt64) throws -> [UInt8]
    /// A retained state, checked again (it sat on disk).
    func open(_ reference: [UInt8], cell: UInt64) throws -> any SnapshotStateFile
    /// The install is durable: the state can go.
    func release(_ reference: [UInt8])
}

/// The durable note that a cell is installing a snapshot. It is written in
/// the record that resets the cell's log to the snapshot's index, and removed
/// in the record that completes the install; in between the cell's items are
/// a mix of old and new, and a node that restarts finishes the install from
/// the retained state before anything reads them.
public struct InstallMarker: Equatable, Sendable {
    public var index: LogIndex
    public var ballot: Ballot
    public var configuration: [NodeID]
    /// What ``InstallFiles/retain(_:cell:)`` returned.
    public var reference: [UInt8]

    public init(index: LogIndex, ballot: Ballot, configuration: [NodeID], reference: [UInt8]) {
        self.index = index
        self.ballot = ballot
        self.configuration = configuration
        self.reference = reference
    }

    /// `u64 index | u64 ballot | u32 members | u32 member… | reference`, little-endian.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        append(index)
        append(ballot.number)
        append(UInt32(configuration.count))
        for member in configuration { append(member.rawValue) }
        return bytes + reference
    }

    init?(decoding bytes: [UInt8]) {
        func read<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T? {
            guard offset + MemoryLayout<T>.size <= bytes.count else { return nil }
            return bytes[offset..<offset + MemoryLayout<T>.size].reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        guard let index = read(0, UInt64.self), let ballot = read(8, UInt64.self), let members = read(16, UInt32.self),
            bytes.count >= 20 + Int(members) * 4
        else { return nil }
        self.index = index
        self.ballot = Ballot(ballot)
        configuration = (0..<Int(members)).map { NodeID(read(20 + $0 * 4, UInt32.self)!) }
        reference = Array(bytes[(20 + Int(members) * 4)...])
    }
}

/// What an install wrote, for the node's log.
public struct InstallSummary: Sendable {
    public var index: LogIndex
    public var stateBytes: Int
    public var itemsDeleted = 0
    public var itemsWritten = 0
    /// WAL records the writes went in.
    public var groups = 0
}

extension PageCellState {
    static let installSortKey: [UInt8] = [2]
    /// Writes go to the store in groups of about this many bytes: a snapshot
    /// is never one WAL record, nor held whole in memory.
    public static let installGroupBytes = 8 << 20

    /// The write that notes (or, with nil, clears) an install under way.
    public func installMarkerUpdate(_ marker: InstallMarker?) -> ItemUpdate {
        ItemUpdate(collection: metadataName, pointer: metadataPointer, sortKey: Self.installSortKey,
                   value: marker?.encoded, version: marker?.index ?? appliedIndex)
    }

    /// The install noted in the store, if one is under way (read by ``load()``).
    func storedInstallMarker() throws -> InstallMarker? {
        guard let item = try store.readNow({ try $0.item(pointer: metadataPointer, sortKey: Self.installSortKey) }) else {
            return nil
        }
        guard let marker = InstallMarker(decoding: item.value) else {
            throw CellRecoveryError(cell: cell, reason: "its install note is \(item.value.count) bytes and does not decode")
        }
        return marker
    }

    /// Checks a staged snapshot from end to end before anything of it is
    /// written: one that does not decode is refused while the cell's state is whole.
    public static func validate(_ file: any SnapshotStateFile) throws {
        var stream = Self.stream(file)
        while let element = try stream.next() {
            // What the store would refuse must be refused here, before anything of it is written.
            if case .item(let item) = element, item.value.count > StorageLimits.valueBytesMaximum {
                throw CellCommand.DecodingError(reason: "a value of \(item.value.count) bytes (at most \(StorageLimits.valueBytesMaximum)) before byte \(stream.offset)")
            }
        }
    }

    private static func stream(_ file: any SnapshotStateFile) -> CellSnapshotStream {
        CellSnapshotStream(totalBytes: file.byteCount, windowBytes: 4 << 20) { try file.read(offset: $0, count: $1) }
    }

    /// Replaces the cell's state with the marker's snapshot, read from its
    /// retained state: every item and session the cell has goes, the
    /// snapshot's come, in lazy groups of about ``installGroupBytes``; the
    /// last group sets the applied index and clears the marker. The groups
    /// wait for the disk (``Store/waitForDisk(checkpoints:)``), and between
    /// collections for checkpoints too, so that what waits in memory stays bounded. `completion` runs once the
    /// last group is durable (on the store's commit thread), after the
    /// retained state was released. `clearingMarker` false leaves the marker
    /// of a later install, already written, in place.
    public mutating func installStaged(_ marker: InstallMarker, files: any InstallFiles, clearingMarker: Bool = true,
                                       groupBytes groupBytesMaximum: Int = installGroupBytes,
                                       completion: @escaping @Sendable (Result<Void, any Error>) -> Void) throws -> InstallSummary {
        precondition(!hasPendingWrites, "a snapshot installed between applying entries and handing over their writes")
        let file = try files.open(marker.reference, cell: cell)
        var summary = InstallSummary(index: marker.index, stateBytes: file.byteCount)
        let store = store
        var group: [ItemUpdate] = []
        var groupBytes = 0
        let refused = Mutex<(any Error)?>(nil)
        func handOver(collectionEnded: Bool) throws {
            guard groupBytes >= groupBytesMaximum || collectionEnded else { return }
            if groupBytes >= groupBytesMaximum {
                // A write failure fails the store (and every later write); a group the store refuses
                // (reported at once) must stop the install before its last group clears the marker.
                store.commitGroup(updates: group, logChanges: [], lazy: true) { result in
                    if case .failure(let error) = result { refused.withLock { $0 = $0 ?? error } }
                }
                if let error = refused.withLock({ $0 }) { throw error }
                summary.groups += 1
                group = []
                groupBytes = 0
            }
            // Checkpoints not within a collection: one rewrites a changed collection whole.
            try store.waitForDisk(checkpoints: collectionEnded)
        }
        func add(_ update: ItemUpdate) throws {
            group.append(update)
            groupBytes += update.collection.count + update.sortKey.count + (update.value?.count ?? 0) + 32
            try handOver(collectionEnded: false)
        }

        // The cell's items go, one collection at a time (only the keys are kept).
        for pointer in try store.readNow({ try $0.collectionPointers(withPrefix: cell, depth: cellDepth) }) {
            guard let collection = try store.readNow({ try $0.scannedCollection(pointer: pointer) }),
                CellSnapshotSource.isUserCollection(collection.name) else { continue }
            for item in collection.items {
                try add(ItemUpdate(collection: collection.name, pointer: pointer, sortKey: item.sortKey, value: nil,
                                   version: marker.index))
                summary.itemsDeleted += 1
            }
            try handOver(collectionEnded: true)
        }
        let oldSessions = try storedSessions()

        // The snapshot's come, as the stream reads them.
        var stream = Self.stream(file)
        var current: (name: [UInt8], pointer: Pointer)?
        var sessions: [(client: UInt64, session: ClientSession)] = []
        while let element = try stream.next() {
            switch element {
            case .collection(let name, _):
                if current != nil { try handOver(collectionEnded: true) }
                current = (name, Pointer(hashing: name))
            case .item(let item):
                let (name, pointer) = current!
                try add(ItemUpdate(collection: name, pointer: pointer, sortKey: item.sortKey, value: item.value, version: item.version))
                summary.itemsWritten += 1
            case .sessions(let all):
                sessions = all
            }
        }

        for (client, _) in oldSessions { storeSessionWrite(client, nil) }
        for (client, session) in sessions { storeSessionWrite(client, session) }
        sessionCount = sessions.count
        appliedIndex = marker.index
        appliedBallot = marker.ballot
        configuration = marker.configuration.sorted()
        pendingInstall = nil
        if let error = refused.withLock({ $0 }) { throw error }
        let last = group + takeUpdates() + (clearingMarker ? [installMarkerUpdate(nil)] : [])
        let reference = marker.reference
        // Not lazy: the retained state goes once it is durable, without waiting for other writes.
        store.commitGroup(updates: last, logChanges: [], lazy: false) { result in
            if case .success = result { files.release(reference) }
            completion(result)
        }
        summary.groups += 1
        return summary
    }
}
