import Client
import Foundation
import Keyspace
import Linearizability
import Synchronization
import Wire

typealias Register = RegisterModel<String, String>

/// A shared, thread-safe client history for the linearizability checker, plus
/// the per-operation record the tests need for their own checks and counts.
/// An event's position is its time: invoke is appended just before the request
/// is sent, the completion just after the answer came back.
final class HistoryRecorder: Sendable {
    enum Outcome: Sendable, Equatable {
        case ok(Register.Output)
        /// Definitely not applied.
        case fail(String)
        /// May or may not have been applied.
        case info(String)
    }

    struct Op: Sendable {
        var client: Int
        var input: Register.Input
        var invokedAt: Int
        var completedAt: Int?
        var outcome: Outcome?
        /// Wall-clock seconds since the recorder was made, for timelines.
        var invokedSeconds: Double
        var completedSeconds: Double?
    }

    private struct State {
        var history = History<Register.Input, Register.Output>()
        var ops: [Op] = []
        var openOp: [Int: Int] = [:]
    }

    private let state = Mutex(State())
    let origin = ContinuousClock.now

    private var seconds: Double { (ContinuousClock.now - origin).seconds }

    /// Records an invocation; returns its handle for ``complete(_:_:)``.
    func invoke(_ input: Register.Input, client: Int) -> Int {
        state.withLock { state in
            precondition(state.openOp[client] == nil, "client \(client) invoked while an operation was open")
            state.history.invoke(input, client: client)
            state.ops.append(Op(client: client, input: input, invokedAt: state.history.events.count - 1, invokedSeconds: seconds))
            state.openOp[client] = state.ops.count - 1
            return state.ops.count - 1
        }
    }

    func complete(_ handle: Int, _ outcome: Outcome) {
        state.withLock { state in
            let client = state.ops[handle].client
            precondition(state.openOp[client] == handle)
            state.openOp[client] = nil
            switch outcome {
            case .ok(let output): state.history.ok(output, client: client)
            case .fail: state.history.fail(client: client)
            case .info: state.history.info(client: client)
            }
            state.ops[handle].completedAt = state.history.events.count - 1
            state.ops[handle].outcome = outcome
            state.ops[handle].completedSeconds = seconds
        }
    }

    /// The current time: the number of events so far.
    var now: Int { state.withLock { $0.history.events.count } }

    var ops: [Op] { state.withLock { $0.ops } }

    var history: History<Register.Input, Register.Output> { state.withLock { $0.history } }

    func check(maxStatesPerKey: Int = 2_000_000) throws -> CheckResult<Register> {
        try LinearizabilityChecker(model: Register(), limits: CheckLimits(maxStatesPerKey: maxStatesPerKey)).check(history)
    }

    /// "put: 812 ok, 3 fail, 5 info; get: …" and the number of operations per client.
    func summary() -> String {
        var counts: [String: [String: Int]] = [:]
        for op in ops {
            let kind = switch op.input {
            case .put: "put"
            case .get: "get"
            case .cas: "cas"
            case .delete: "delete"
            }
            let outcome = switch op.outcome {
            case .ok(.casFailed)?: "ok (cas failed)"
            case .ok?: "ok"
            case .fail?: "fail"
            case .info?: "info"
            case nil: "open"
            }
            counts[kind, default: [:]][outcome, default: 0] += 1
        }
        return counts.keys.sorted().map { kind in
            let outcomes = counts[kind]!
            return "\(kind): " + outcomes.keys.sorted().map { "\(outcomes[$0]!) \($0)" }.joined(separator: ", ")
        }.joined(separator: "; ") + " (\(ops.count) operations)"
    }

    /// Operations completed per second, by outcome, and the slowest: "0-1 s: 40 ok; 1-2 s: …".
    func timeline(bucket: Double = 1) -> String {
        var buckets: [Int: (ok: Int, other: Int, slowest: Double)] = [:]
        for op in ops {
            guard let end = op.completedSeconds else { continue }
            let slot = Int(end / bucket)
            var entry = buckets[slot] ?? (0, 0, 0)
            if case .ok? = op.outcome { entry.ok += 1 } else { entry.other += 1 }
            entry.slowest = max(entry.slowest, end - op.invokedSeconds)
            buckets[slot] = entry
        }
        return buckets.keys.sorted().map { slot in
            let entry = buckets[slot]!
            return String(format: "%d s: %d ok/%d not (slowest %.2f s)", slot, entry.ok, entry.other, entry.slowest)
        }.joined(separator: "; ")
    }

    /// The `count` slowest operations, one line each.
    func slowest(_ count: Int = 3) -> String {
        let finished = ops.filter { $0.completedSeconds != nil }
        let sorted = finished.sorted { ($0.completedSeconds! - $0.invokedSeconds) > ($1.completedSeconds! - $1.invokedSeconds) }
        return sorted.prefix(count).map { op in
            let call: String = switch op.outcome! {
            case .ok(let output): Register().describe(op.input, output)
            case .fail(let reason): Register().describe(op.input, nil) + " failed: " + reason
            case .info(let reason): Register().describe(op.input, nil) + " unknown: " + reason
            }
            return String(format: "  %.2f s, invoked at %.2f s: client %d ", op.completedSeconds! - op.invokedSeconds, op.invokedSeconds, op.client) + call
        }.joined(separator: "\n")
    }

    /// Reasons of failed and unknown outcomes, most frequent first (message texts shortened).
    func failureReasons(limit: Int = 8) -> String {
        var reasons: [String: Int] = [:]
        for op in ops {
            switch op.outcome {
            case .fail(let reason)?: reasons["fail: " + Self.shorten(reason), default: 0] += 1
            case .info(let reason)?: reasons["info: " + Self.shorten(reason), default: 0] += 1
            default: break
            }
        }
        return reasons.sorted { $0.value > $1.value }.prefix(limit).map { "  \($0.value) × \($0.key)" }.joined(separator: "\n")
    }

    private static func shorten(_ text: String) -> String {
        // Drop the per-call details (key names, member lists) so that alike failures group.
        let first = text.split(separator: ";").first.map(String.init) ?? text
        return String(first.prefix(160))
    }
}

/// Keys of the register histories: the text key and the `Key` to send.
struct RegisterKeys: Sendable {
    let keys: [String: Key]
    var names: [String] { keys.keys.sorted() }

    init(_ keys: [Key]) {
        var byName: [String: Key] = [:]
        for key in keys { byName[key.text] = key }
        self.keys = byName
    }
}

extension TesseraClient {
    /// Performs one register operation through this client and records it in `recorder` as `client`.
    /// Returns the outcome.
    @discardableResult
    func perform(_ input: Register.Input, keys: RegisterKeys, recorder: HistoryRecorder, client: Int) async -> HistoryRecorder.Outcome {
        let handle = recorder.invoke(input, client: client)
        let outcome: HistoryRecorder.Outcome
        do {
            switch input {
            case .put(let name, let value):
                switch try await put(keys.keys[name]!, value: Array(value.utf8)) {
                case .written: outcome = .ok(.ok)
                case .conditionFailed(let write, let version):
                    outcome = .info("an unconditional put answered condition failed (write \(write), version \(String(describing: version)))")
                }
            case .cas(let name, let expected, let new):
                switch try await compareAndSwap(keys.keys[name]!, expected: expected.map { Array($0.utf8) }, new: Array(new.utf8)) {
                case .written: outcome = .ok(.ok)
                case .conditionFailed: outcome = .ok(.casFailed)
                }
            case .get(let name):
                let item = try await get(keys.keys[name]!, consistency: .strong)
                outcome = .ok(.value(item.map { String(decoding: $0.value, as: UTF8.self) }))
            case .delete(let name):
                _ = try await delete(keys.keys[name]!)
                outcome = .ok(.ok)
            }
        } catch let error as TesseraClientError {
            outcome = Self.outcome(of: error, for: input)
        } catch {
            outcome = .info("\(error)")
        }
        recorder.complete(handle, outcome)
        return outcome
    }

    /// How a failed call goes into the history. A read that failed changed
    /// nothing. A write counts as not applied only when the client says so
    /// definitely: a bad request, or a timeout that reports the write was not
    /// applied; anything else (including `unavailable` or `internalError`
    /// that name an unknown outcome in their text) is recorded as unknown.
    static func outcome(of error: TesseraClientError, for input: Register.Input) -> HistoryRecorder.Outcome {
        if case .get = input { return .fail(error.description) }
        switch error {
        case .badRequest: return .fail(error.description)
        case .timeout(_, let outcomeUnknown): return outcomeUnknown ? .info(error.description) : .fail(error.description)
        default: return .info(error.description)
        }
    }
}

extension DirectConnection {
    /// A register operation sent to this one node only, recorded in `recorder`.
    /// A read that is redirected or fails is a fail. A write answered `notLeader`
    /// is a fail too: the node promises that a redirected write was not applied
    /// (one that may still commit after a leadership change is answered with a
    /// `timeout` error instead), so the checker holds it to that. Any other
    /// error of a write, or no answer, is unknown.
    /// Returns the raw answer (nil if the connection failed).
    func perform(_ input: Register.Input, keys: RegisterKeys, recorder: HistoryRecorder, client: Int,
                 clientID: UInt64, sequence: UInt64) async -> ClientResponse.Body? {
        let body: ClientRequest.Body
        switch input {
        case .get(let name):
            body = .get(key: keys.keys[name]!.text, consistency: .strong)
        case .put(let name, let value):
            body = .write(clientID: clientID, sequence: sequence, acknowledgedBelow: sequence,
                          writes: [WireWrite(key: keys.keys[name]!.text, value: Array(value.utf8))])
        case .cas(let name, let expected, let new):
            body = .write(clientID: clientID, sequence: sequence, acknowledgedBelow: sequence,
                          writes: [WireWrite(key: keys.keys[name]!.text, value: Array(new.utf8),
                                             condition: expected.map { .valueEquals(Array($0.utf8)) } ?? .absent)])
        case .delete(let name):
            body = .write(clientID: clientID, sequence: sequence, acknowledgedBelow: sequence,
                          writes: [WireWrite(key: keys.keys[name]!.text, value: nil)])
        }
        let isRead: Bool = if case .get = input { true } else { false }
        let handle = recorder.invoke(input, client: client)
        let answer: ClientResponse.Body
        do {
            answer = try await call(body)
        } catch {
            recorder.complete(handle, isRead ? .fail("\(error)") : .info("\(error)"))
            return nil
        }
        let outcome: HistoryRecorder.Outcome
        switch answer {
        case .item(let item) where isRead:
            outcome = .ok(.value(item.map { String(decoding: $0.value, as: UTF8.self) }))
        case .written where !isRead:
            outcome = .ok(.ok)
        case .conditionFailed where !isRead:
            if case .cas = input { outcome = .ok(.casFailed) } else { outcome = .info("unexpected answer \(answer)") }
        case .notLeader:
            outcome = .fail("\(answer)")
        default:
            outcome = isRead ? .fail("\(answer)") : .info("\(answer)")
        }
        recorder.complete(handle, outcome)
        return answer
    }
}
