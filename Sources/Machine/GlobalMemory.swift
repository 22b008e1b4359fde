import Keyspace

/// The cluster's memory as the VM sees it: words are items, each addressed by
/// a full key (collection plus sort key). Calls block the invocation's thread
/// until the owning cell's leader has answered, so each is linearizable like
/// the client's strong operations. Errors are ``MachineError``s.
public protocol GlobalMemory: Sendable {
    /// The word's bytes, or nil when absent.
    func load(_ word: Key) throws(MachineError) -> [UInt8]?
    /// Sets the word, or deletes it when `value` is nil.
    func write(_ word: Key, value: [UInt8]?) throws(MachineError)
    /// Sets the word to `desired` (nil deletes) if it holds `expected` (nil: absent).
    func compareAndSwap(_ word: Key, expected: [UInt8]?, desired: [UInt8]?) throws(MachineError) -> Bool
}
