import Foundation
import Keyspace
import Synchronization

/// How a 64-byte pointer becomes a word again. A pointer is the SHA-512 of a
/// key and cannot be inverted, yet programs store pointers in words (a
/// stack's next node) for other invocations to follow. So `pointer(key)`
/// records pointer → key in the caller's own account, at
/// `<account>/tessera-pointers/rnd/<pointer hex>`, and a pointer the
/// invocation did not make is looked up there. The lookup is in the caller's
/// account only, which is what makes every other account's pointers (and
/// made-up ones) unresolvable: they are refused, not mapped.
public struct PointerDirectory: Sendable {
    public static let resource = "tessera-pointers"

    let memory: any GlobalMemory
    let cache: PointerCache

    public init(memory: any GlobalMemory, cache: PointerCache) {
        self.memory = memory
        self.cache = cache
    }

    static func entry(for pointer: Pointer, account: String) -> Key {
        try! Key(account: account, resource: resource, type: .rnd, primaryKey: Array(pointer.hex.utf8))
    }

    /// Makes `collection`'s pointer resolvable by later invocations: once per node per
    /// pointer, a read, and a put-if-absent only when no node recorded it before (a read
    /// costs no log entry and no fsync, and most pointers were recorded by another node).
    func register(_ collection: Key) throws(MachineError) {
        if cache.key(for: collection.pointer, account: collection.account) != nil { return }
        let entry = Self.entry(for: collection.pointer, account: collection.account)
        if try memory.load(entry) == nil {
            _ = try memory.compareAndSwap(entry, expected: nil, desired: Array(collection.text.utf8))
        }
        cache.remember(collection)
    }

    /// The collection `pointer` names in `account`, or nil when the account never made it.
    func resolve(_ pointer: Pointer, account: String) throws(MachineError) -> Key? {
        if let key = cache.key(for: pointer, account: account) { return key }
        guard let bytes = try memory.load(Self.entry(for: pointer, account: account)),
              let text = String(bytes: bytes, encoding: .utf8),
              let key = try? Key(parsing: text),
              key.account == account, key.pointer == pointer, key.sortKey.isEmpty
        else { return nil }
        cache.remember(key)
        return key
    }
}

/// Pointer → collection, shared by a node's invocations. The mapping never
/// changes (a pointer is a hash of its key), so entries need no expiry; the
/// cache is bounded by count and forgets everything when full.
public final class PointerCache: Sendable {
    private struct Entry: Hashable { let account: String; let pointer: Pointer }
    private let entries = Mutex<[Entry: Key]>([:])
    public let capacity: Int

    public init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    func key(for pointer: Pointer, account: String) -> Key? {
        entries.withLock { $0[Entry(account: account, pointer: pointer)] }
    }

    func remember(_ collection: Key) {
        entries.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[Entry(account: collection.account, pointer: collection.pointer)] = collection
        }
    }
}
