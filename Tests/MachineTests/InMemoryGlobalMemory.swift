import Foundation
import Keyspace
@testable import Machine

/// A global memory in a dictionary, for the VM's unit tests: linearizable
/// trivially (one lock), with counts of what was asked and an optional delay
/// per call to stand in for a slow cluster.
final class InMemoryGlobalMemory: GlobalMemory, @unchecked Sendable {
    private let lock = NSLock()
    private var words: [Key: [UInt8]] = [:]
    private(set) var writes = 0
    let delay: Duration

    init(delay: Duration = .zero) {
        self.delay = delay
    }

    private func pause() {
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds)) }
    }

    func load(_ word: Key) throws(MachineError) -> [UInt8]? {
        pause()
        return lock.withLock { words[word] }
    }

    func write(_ word: Key, value: [UInt8]?) throws(MachineError) {
        pause()
        lock.withLock {
            writes += 1
            words[word] = value
        }
    }

    func compareAndSwap(_ word: Key, expected: [UInt8]?, desired: [UInt8]?) throws(MachineError) -> Bool {
        pause()
        return lock.withLock {
            guard words[word] == expected else { return false }
            writes += 1
            words[word] = desired
            return true
        }
    }

    /// Writes to words other than the pointer directory's.
    var dataWrites: [Key: [UInt8]] {
        lock.withLock { words.filter { $0.key.resource != PointerDirectory.resource } }
    }
}
