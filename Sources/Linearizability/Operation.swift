/// One client operation of a history: what was asked, when, and what came back.
///
/// Times are any monotonic integers (nanoseconds, ticks, event numbers). An
/// operation's interval is closed: one that returned at `t` and one invoked at
/// the same `t` count as concurrent, because a coarse clock cannot order them.
public struct Operation<Input, Output> {
    public var client: Int
    public var input: Input
    public var invokedAt: Int
    public var outcome: Outcome<Output>

    public init(client: Int, input: Input, invokedAt: Int, outcome: Outcome<Output>) {
        self.client = client
        self.input = input
        self.invokedAt = invokedAt
        self.outcome = outcome
    }
}

/// How an operation ended, as far as its client knows.
public enum Outcome<Output> {
    /// It took effect once, somewhere between its invocation and `returnedAt`, with this output.
    case ok(Output, returnedAt: Int)
    /// It definitely did not take effect (the system said so): the checker drops it.
    case failed
    /// The client never learned (timeout, crash): it may have taken effect once at
    /// any time after its invocation, with any output, or never.
    case unknown
}

extension Operation: Sendable where Input: Sendable, Output: Sendable {}
extension Operation: Equatable where Input: Equatable, Output: Equatable {}
extension Operation: Hashable where Input: Hashable, Output: Hashable {}
extension Outcome: Sendable where Output: Sendable {}
extension Outcome: Equatable where Output: Equatable {}
extension Outcome: Hashable where Output: Hashable {}
