import Linearizability
import Testing

/// Turning an event history into operations.
struct HistoryTests {
    typealias Events = History<Register.Input, Register.Output>

    @Test func eventPositionsAreTimes() throws {
        var history = Events()
        history.invoke(.put("x", 1), client: 0)    // 0
        history.invoke(.get("x"), client: 1)       // 1
        history.ok(.ok, client: 0)                 // 2
        history.invoke(.put("x", 2), client: 2)    // 3
        history.fail(client: 2)                    // 4
        history.ok(.value(1), client: 1)           // 5
        history.invoke(.delete("x"), client: 0)    // 6
        history.info(client: 0)                    // 7
        history.invoke(.get("x"), client: 0)       // 8: a client may go on after an unknown outcome
        let operations = try history.operations()
        #expect(operations == [
            op(0, .put("x", 1), 0...2, .ok),
            op(1, .get("x"), 1...5, .value(1)),
            failed(2, .put("x", 2), invokedAt: 3),
            unknown(0, .delete("x"), invokedAt: 6),
            unknown(0, .get("x"), invokedAt: 8),
        ])
    }

    @Test func aClientInvokesOneOperationAtATime() {
        var history = Events()
        history.invoke(.put("x", 1), client: 0)
        history.invoke(.put("x", 2), client: 0)
        #expect(throws: HistoryError.invocationWhileOutstanding(client: 0, event: 1)) { try history.operations() }
    }

    @Test func aCompletionNeedsAnInvocation() {
        var history = Events()
        history.invoke(.put("x", 1), client: 0)
        history.ok(.ok, client: 1)
        #expect(throws: HistoryError.completionWithoutInvocation(client: 1, event: 1)) { try history.operations() }
    }
}
