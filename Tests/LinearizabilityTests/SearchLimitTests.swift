import Linearizability
import TestSupport
import Testing

/// A search that would take too long answers `.timedOut` instead of hanging.
@Suite(.cpuBound)
struct SearchLimitTests {
    /// Sixteen concurrent writes, then a read of a value none wrote: proving it
    /// impossible means trying every order of the writes.
    static let hardHistory: [RegisterOperation] =
        (1...16).map { op($0, .put("x", $0), 0...100, .ok) } + [op(0, .get("x"), 101...102, .value(999))]

    @Test func aStateBoundStopsTheSearch() {
        #expect(check(Self.hardHistory, limits: CheckLimits(maxStatesPerKey: 500)).isTimedOut)
    }

    @Test func aTimeBoundStopsTheSearch() {
        #expect(check(Self.hardHistory, limits: CheckLimits(timeout: .zero)).isTimedOut)
    }

    @Test func aFailingKeyWinsOverOneThatTimedOut() throws {
        let history = Self.hardHistory + [
            op(0, .put("y", 1), 0...1, .ok),
            op(0, .get("y"), 2...3, .value(2)),
        ]
        let counterexample = try #require(check(history, limits: CheckLimits(maxStatesPerKey: 500)).counterexample)
        #expect(counterexample.key == "y")
    }
}
