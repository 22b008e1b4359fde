import Linearizability
import TestSupport
import Testing

/// Histories recorded from a real sequential store with random concurrency must
/// pass; the same histories with one read changed to a value never written must not.
@Suite(.cpuBound)
struct RandomHistoryTests {
    @Test(arguments: 1...40)
    func recordedHistoriesAreLinearizableAndAForgedReadIsCaught(seed: UInt64) throws {
        let generator = RandomHistory(clients: Int(seed % 6) + 2, operationCount: 200, faults: seed % 4 != 0)
        try expectCaughtForgery(generator.generate(seed: seed), seed: seed)
    }

    /// Thousands of operations over three keys, with unknown outcomes, decided
    /// within a budget that an exponential search would blow.
    @Test(arguments: [2024, 2025] as [UInt64])
    func aLongHistoryOverFewKeysIsDecidedWithinABudget(seed: UInt64) throws {
        let generator = RandomHistory(clients: 8, keys: ["a", "b", "c"], operationCount: 3000, faults: true)
        try expectCaughtForgery(generator.generate(seed: seed), seed: seed, limits: CheckLimits(maxStatesPerKey: 100_000))
    }

    @Test func generatedHistoriesHaveConcurrencyAndEveryOutcome() {
        let operations = RandomHistory(operationCount: 1000).generate(seed: 7)
        let returned = operations.compactMap { operation -> ClosedRange<Int>? in
            guard case .ok(_, let returnedAt) = operation.outcome else { return nil }
            return operation.invokedAt...returnedAt
        }
        let overlapping = zip(returned, returned.dropFirst()).count { $0.overlaps($1) }
        #expect(overlapping > returned.count / 4)
        #expect(operations.contains { if case .failed = $0.outcome { true } else { false } })
        #expect(operations.contains { if case .unknown = $0.outcome { true } else { false } })
        #expect(operations.contains { if case .ok(.casFailed, _) = $0.outcome { true } else { false } })
        #expect(operations.contains { if case .ok(.ok, _) = $0.outcome, case .cas = $0.input { true } else { false } })
    }

    /// Checks `operations` passes, then forges one read (chosen by `seed`) to
    /// return 0, which no operation wrote, and checks the forgery is caught on its key.
    private func expectCaughtForgery(_ operations: [RegisterOperation], seed: UInt64, limits: CheckLimits = CheckLimits()) throws {
        let checker = LinearizabilityChecker(model: Register(), limits: limits)
        let result = checker.check(operations)
        #expect(result.isLinearizable, "seed \(seed): \(result)")

        let reads = operations.indices.filter {
            if case .ok(.value, _) = operations[$0].outcome { true } else { false }
        }
        var random = SplitMix64(seed: seed)
        let forged = try #require(reads.randomElement(using: &random))
        var forgedOperations = operations
        guard case .ok(_, let returnedAt) = operations[forged].outcome else { return }
        forgedOperations[forged].outcome = .ok(.value(0), returnedAt: returnedAt)

        let forgedResult = checker.check(forgedOperations)
        let counterexample = try #require(forgedResult.counterexample, "seed \(seed): forged read #\(forged) not caught: \(forgedResult)")
        #expect(counterexample.key == operations[forged].input.key)
        #expect(!counterexample.linearizedPrefix.contains(forged))
        #expect(!counterexample.couldNotPlace.isEmpty)
    }
}
