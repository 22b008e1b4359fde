/// A client history as events in real-time order: each client invokes one
/// operation at a time and later sees `ok`, `fail` or `info` (unknown) for it.
/// An event's position is its time, so the order of events is the only clock.
public struct History<Input, Output> {
    public private(set) var events: [HistoryEvent<Input, Output>]

    public init(events: [HistoryEvent<Input, Output>] = []) { self.events = events }

    public mutating func invoke(_ input: Input, client: Int) { events.append(.init(client: client, kind: .invoke(input))) }
    public mutating func ok(_ output: Output, client: Int) { events.append(.init(client: client, kind: .ok(output))) }
    public mutating func fail(client: Int) { events.append(.init(client: client, kind: .fail)) }
    public mutating func info(client: Int) { events.append(.init(client: client, kind: .info)) }

    /// The operations, in invocation order. An invocation still open at the end
    /// of the history has an unknown outcome: the client stopped waiting.
    public func operations() throws(HistoryError) -> [Operation<Input, Output>] {
        var operations: [Operation<Input, Output>] = []
        var open: [Int: Int] = [:]  // client -> index of its outstanding operation
        for (time, event) in events.enumerated() {
            if case .invoke(let input) = event.kind {
                guard open[event.client] == nil else { throw .invocationWhileOutstanding(client: event.client, event: time) }
                open[event.client] = operations.count
                operations.append(Operation(client: event.client, input: input, invokedAt: time, outcome: .unknown))
                continue
            }
            guard let index = open.removeValue(forKey: event.client) else {
                throw .completionWithoutInvocation(client: event.client, event: time)
            }
            switch event.kind {
            case .ok(let output): operations[index].outcome = .ok(output, returnedAt: time)
            case .fail: operations[index].outcome = .failed
            case .info, .invoke: break  // stays unknown
            }
        }
        return operations
    }
}

/// One line of a history.
public struct HistoryEvent<Input, Output> {
    public enum Kind {
        case invoke(Input)
        /// The operation took effect and returned this output.
        case ok(Output)
        /// The operation definitely did not take effect.
        case fail
        /// The outcome is unknown: it may or may not have taken effect.
        case info
    }

    public var client: Int
    public var kind: Kind

    public init(client: Int, kind: Kind) {
        self.client = client
        self.kind = kind
    }
}

/// A history that no run of sequential clients could have produced.
public enum HistoryError: Error, Equatable, CustomStringConvertible {
    case invocationWhileOutstanding(client: Int, event: Int)
    case completionWithoutInvocation(client: Int, event: Int)

    public var description: String {
        switch self {
        case .invocationWhileOutstanding(let client, let event):
            "event \(event): client \(client) invoked an operation while its previous one was still outstanding"
        case .completionWithoutInvocation(let client, let event):
            "event \(event): client \(client) completed an operation it never invoked"
        }
    }
}

extension History: Sendable where Input: Sendable, Output: Sendable {}
extension HistoryEvent: Sendable where Input: Sendable, Output: Sendable {}
extension HistoryEvent.Kind: Sendable where Input: Sendable, Output: Sendable {}
