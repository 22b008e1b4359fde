import Linearizability
import TestSupport
import Testing

/// The checker's pruning (memoization, subsumption, and the rules for unknown
/// outcomes) must not change its verdict: on small random histories it must
/// agree with a plain search of every order, which follows the definition.
@Suite(.cpuBound)
struct ReferenceCheckerTests {
    @Test(arguments: 1...8)
    func agreesWithTryingEveryOrder(batch: UInt64) {
        var random = SplitMix64(seed: batch)
        let unknownPercent = batch <= 4 ? 20 : 50
        var verdicts = (linearizable: 0, not: 0)
        for round in 0..<250 {
            let history = Self.randomHistory(&random, count: random.int(1...7), unknownPercent: unknownPercent)
            let expected = Self.isLinearizableByEveryOrder(history)
            let result = check(history)
            #expect(result.isLinearizable == expected, "batch \(batch) round \(round): \(history) -> \(result)")
            #expect(!result.isTimedOut)
            if expected { verdicts.linearizable += 1 } else { verdicts.not += 1 }
        }
        // Both verdicts are common, so the comparison tests both directions.
        #expect(verdicts.linearizable > 50 && verdicts.not > 50, "\(verdicts)")
    }

    /// Operations on one key with few values, random windows, outputs and
    /// outcomes: 10% failed, `unknownPercent` unknown, the rest returned.
    static func randomHistory(_ random: inout SplitMix64, count: Int, unknownPercent: Int) -> [RegisterOperation] {
        (0..<count).map { client in
            let value = random.int(1...3)
            let read: Int? = random.int(0...3) == 0 ? nil : random.int(1...3)
            let (input, output): (Register.Input, Register.Output) = switch random.int(0..<8) {
            case 0..<3: (.put("x", value), .ok)
            case 3..<6: (.get("x"), .value(read))
            case 6: (.cas("x", expected: read, new: value), random.int(0...1) == 0 ? .ok : .casFailed)
            default: (.delete("x"), .ok)
            }
            let invokedAt = random.int(0..<10)
            let outcome: Outcome<Register.Output> = switch random.int(0..<100) {
            case 0..<10: .failed
            case 10..<(10 + unknownPercent): .unknown
            default: .ok(output, returnedAt: invokedAt + random.int(0..<5))
            }
            return Operation(client: client, input: input, invokedAt: invokedAt, outcome: outcome)
        }
    }

    /// The definition: some order of all returned operations and some of the
    /// unknown ones, in which an operation never precedes one that returned
    /// before it was invoked, is accepted by the model.
    static func isLinearizableByEveryOrder(_ history: [RegisterOperation]) -> Bool {
        let model = Register()
        let operations = history.filter { if case .failed = $0.outcome { false } else { true } }
        func returnedAt(_ operation: RegisterOperation) -> Int? {
            if case .ok(_, let time) = operation.outcome { time } else { nil }
        }
        func output(_ operation: RegisterOperation) -> Register.Output? {
            if case .ok(let output, _) = operation.outcome { output } else { nil }
        }
        func search(_ placed: Set<Int>, _ state: Int?) -> Bool {
            let returnedLeft = operations.indices.filter { !placed.contains($0) && returnedAt(operations[$0]) != nil }
            if returnedLeft.isEmpty { return true }
            for next in operations.indices where !placed.contains(next) {
                let mustGoFirst = returnedLeft.contains { returnedAt(operations[$0])! < operations[next].invokedAt }
                if mustGoFirst { continue }
                let (legal, newState) = model.step(state, operations[next].input, output(operations[next]))
                if legal, search(placed.union([next]), newState) { return true }
            }
            return false
        }
        return search([], nil)
    }
}
