import Credentials
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import Server

/// The node's copy of the access keys: used only while fresh, re-read on
/// demand (one read shared by every waiter), and never undoing a change
/// this node made itself with a read that started before it.
@Suite struct AccessKeyDirectoryTests {
    /// A fetch the test releases by hand, serving whatever records it holds then.
    final class Source: Sendable {
        let records = Mutex<[AccessKeyRecord]>([])
        let reads = Mutex(0)
        let gate = Mutex<[CheckedContinuation<Void, Never>]>([])
        let holding = Mutex(false)

        func fetch() async throws -> [AccessKeyRecord] {
            reads.withLock { $0 += 1 }
            let snapshot = records.withLock { $0 }
            if holding.withLock({ $0 }) { await withCheckedContinuation { continuation in gate.withLock { $0.append(continuation) } } }
            return snapshot
        }

        func release() {
            holding.withLock { $0 = false }
            for continuation in gate.withLock({ list in defer { list = [] }; return list }) { continuation.resume() }
        }

        var waiting: Int { gate.withLock { $0.count } }
    }

    static func record(_ id: String, revoked: Bool = false) -> AccessKeyRecord {
        var record = AccessKeyRecord(id: id, secretSHA256: AccessKey.digest(ofSecret: "s"), grants: AccountGrants(["acme": .read]),
                                     createdBy: "test", createdAt: Date(), expiresAt: nil)
        if revoked { record.revokedAtSeconds = 1 }
        return record
    }

    @Test(.timeLimit(.minutes(1))) func aCopyIsUsedWhileFreshAndReadOnceForAllWaiters() async throws {
        let source = Source()
        source.records.withLock { $0 = [Self.record("tk1")] }
        let directory = AccessKeyDirectory(fetch: { try await source.fetch() })
        guard case .stale = directory.lookup("tk1", now: .now()) else { Issue.record("a copy before any read"); return }
        let demand = NIODeadline.now()
        async let first: Void = directory.refresh(after: demand)
        async let second: Void = directory.refresh(after: demand)
        _ = try await (first, second)
        #expect(source.reads.withLock { $0 } == 1)
        // Looked up as of `demand`: the copy's read started then or later, so it is fresh
        // however long this loaded machine took to get here.
        guard case .found(let known) = directory.lookup("tk1", now: demand) else { Issue.record("tk1 not found"); return }
        #expect(known.subject.grants.allows(.read, in: "acme"))
        guard case .unknown = directory.lookup("tk2", now: demand) else { Issue.record("tk2 known"); return }
        guard case .stale = directory.lookup("tk1", now: .now() + AccessKeyDirectory.lifetime) else {
            Issue.record("a copy used past its lifetime")
            return
        }
    }

    @Test(.timeLimit(.minutes(1))) func aReadStartedBeforeALocalRevocationDoesNotUndoIt() async throws {
        let source = Source()
        source.records.withLock { $0 = [Self.record("tk1")] }
        let directory = AccessKeyDirectory(fetch: { try await source.fetch() })
        try await directory.refresh(after: .now())
        // A read starts and takes the old record; meanwhile this node revokes the key.
        source.holding.withLock { $0 = true }
        let beforeRead = NIODeadline.now()
        let reading = Task { try await directory.refresh(after: beforeRead) }
        while source.waiting == 0 { await Task.yield() }
        directory.remember(Self.record("tk1", revoked: true))
        source.release()
        try await reading.value
        guard case .found(let known) = directory.lookup("tk1", now: beforeRead) else { Issue.record("tk1 lost"); return }
        #expect(known.record.isRevoked, "the older read brought the revoked key back")
    }
}
