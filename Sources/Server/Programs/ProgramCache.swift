import Machine
import NIOCore
import Synchronization

/// Compiled programs by account and name, with the version they were
/// compiled from. An entry read less than ``freshSeconds`` ago is used without
/// asking the cluster, so a redeploy reaches every node within that time (at
/// once on the node that took it); an older one is checked against the stored
/// version first. Bounded by count: when full, everything is forgotten.
final class ProgramCache: Sendable {
    static let freshSeconds: Int64 = 2
    static let capacity = 512

    private struct Name: Hashable { let account: String; let name: String }
    private struct Entry { let version: UInt64; let program: CompiledProgram; let readAt: NIODeadline }
    private let entries = Mutex<[Name: Entry]>([:])

    func fresh(account: String, name: String, now: NIODeadline = .now()) -> CompiledProgram? {
        entries.withLock { entries in
            guard let entry = entries[Name(account: account, name: name)],
                  now - entry.readAt < .seconds(Self.freshSeconds) else { return nil }
            return entry.program
        }
    }

    func program(account: String, name: String, version: UInt64) -> CompiledProgram? {
        entries.withLock { entries in
            guard let entry = entries[Name(account: account, name: name)], entry.version == version else { return nil }
            return entry.program
        }
    }

    func store(account: String, name: String, version: UInt64, program: CompiledProgram, now: NIODeadline = .now()) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[Name(account: account, name: name)] = Entry(version: version, program: program, readAt: now)
        }
    }

    func forget(account: String, name: String) {
        _ = entries.withLock { $0.removeValue(forKey: Name(account: account, name: name)) }
    }
}
