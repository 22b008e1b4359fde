import Client
import Foundation
import Keyspace

/// The global memory through a ``TesseraClient``: each host call is the
/// client's strong operation on the word's key, sent to the owning cell's
/// leader (redirects, retries and deduplicated write retries included), so it
/// is linearizable. Called on an invocation thread, it blocks that thread
/// (not Swift's cooperative pool, where the client's own work runs) until the
/// answer comes.
public struct ClientMemory: GlobalMemory {
    let client: TesseraClient

    public init(client: TesseraClient) {
        self.client = client
    }

    public func load(_ word: Key) throws(MachineError) -> [UInt8]? {
        try blocking("load") { try await client.get(word, consistency: .strong)?.value }
    }

    public func write(_ word: Key, value: [UInt8]?) throws(MachineError) {
        try blocking("write") {
            if let value { _ = try await client.put(word, value: value) } else { _ = try await client.delete(word) }
        }
    }

    public func compareAndSwap(_ word: Key, expected: [UInt8]?, desired: [UInt8]?) throws(MachineError) -> Bool {
        try blocking("cas") {
            let condition: WriteCondition = expected.map { .valueEquals($0) } ?? .absent
            if let desired {
                return try await client.put(word, value: desired, condition: condition).isWritten
            }
            // Absent to absent changes nothing: it swaps exactly when the word is absent now.
            guard expected != nil else { return try await client.get(word, consistency: .strong) == nil }
            return try await client.delete(word, condition: condition).isWritten
        }
    }

    private func blocking<T: Sendable>(_ call: String, _ operation: @escaping @Sendable () async throws -> T) throws(MachineError) -> T {
        // Blocking a thread of the cooperative pool here could stall the client's own tasks.
        precondition(InvocationThreads.isInvocationThread, "host calls block: run invocations on InvocationThreads")
        let done = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox<T>()
        Task {
            do {
                let value = try await operation()
                outcome.set(.success(value))
            } catch {
                outcome.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        switch outcome.get() {
        case .success(let value):
            return value
        case .failure(let error as TesseraClientError):
            switch error {
            case .forbidden(let message): throw .forbidden("host call \(call): \(message)")
            case .badRequest(let message): throw .badHostCall(call: call, reason: message)
            default: throw .memoryUnavailable(call: call, reason: error.description)
            }
        case .failure(let error):
            throw .memoryUnavailable(call: call, reason: "\(error)")
        case nil:
            throw .memoryUnavailable(call: call, reason: "no answer")
        }
    }
}

/// One result handed from the client's task to the blocked invocation thread.
private final class OutcomeBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var outcome: Result<T, any Error>?

    func set(_ value: Result<T, any Error>) {
        lock.withLock { outcome = value }
    }

    func get() -> Result<T, any Error>? {
        lock.withLock { outcome }
    }
}
