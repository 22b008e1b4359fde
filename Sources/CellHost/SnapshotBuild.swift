import Cell
import Storage
import Synchronization

/// A snapshot of one cell at `index`, written on another thread while the
/// cell goes on applying entries. Before the shard overwrites an item (or a
/// session) for the first time after `index`, it records the item's value
/// there: its pre-image. The writer reads the store, takes items whose
/// version is at most `index` (nothing touched them since), and the
/// pre-images for the rest; that is the state at `index`, exactly.
public final class SnapshotBuild: Sendable {
    public let cell: UInt64
    public let index: LogIndex

    private struct State {
        /// By collection name, then sort key; nil: the item did not exist at `index`.
        var preimages: [[UInt8]: [[UInt8]: Item?]] = [:]
        var preimageBytes = 0
        var cancelled = false
    }
    private let state = Mutex(State())

    public init(cell: UInt64, index: LogIndex) {
        self.cell = cell
        self.index = index
    }

    /// Called by the shard (the cell's only writer) before it writes `key`:
    /// reads the item's current value once, the first time.
    public func recordPreimage(of key: ItemKey, reading read: () throws -> Item?) rethrows {
        let known = state.withLock { $0.preimages[key.collection]?.keys.contains(key.sortKey) ?? false }
        guard !known else { return }
        let item = try read()
        state.withLock { state in
            state.preimages[key.collection, default: [:]][key.sortKey] = .some(item)
            state.preimageBytes += 64 + key.collection.count + key.sortKey.count + (item?.value.count ?? 0)
        }
    }

    /// What the pre-images hold: a build that keeps more than its bound is given up (see ``NodeLimits``).
    public var preimageBytes: Int { state.withLock { $0.preimageBytes } }

    public func preimages(in collection: [UInt8]) -> [[UInt8]: Item?] {
        state.withLock { $0.preimages[collection] ?? [:] }
    }

    public var collectionsWithPreimages: [[UInt8]] {
        state.withLock { Array($0.preimages.keys) }
    }

    /// The cell installed a leader's snapshot meanwhile: what this build reads is no longer its state at `index`.
    public func cancel() { state.withLock { $0.cancelled = true } }
    public var isCancelled: Bool { state.withLock { $0.cancelled } }
}

public struct SnapshotBuildCancelled: Error {
    public init() {}
}
