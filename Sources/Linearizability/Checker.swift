/// Checks that a history of client operations is linearizable against a
/// sequential model (Wing–Gong search with Porcupine's memoization), one key at
/// a time: linearizability is compositional, so a history is linearizable
/// exactly when every key's sub-history is, and small searches beat one big one.
///
/// Deterministic: keys are checked in the order they first appear, and the
/// first key that fails is the one reported.
public struct LinearizabilityChecker<Model: SequentialModel>: Sendable {
    public let model: Model
    public let limits: CheckLimits

    public init(model: Model, limits: CheckLimits = CheckLimits()) {
        self.model = model
        self.limits = limits
    }

    public func check(_ history: History<Model.Input, Model.Output>) throws(HistoryError) -> CheckResult<Model> {
        check(try history.operations())
    }

    /// Failed operations are dropped (they did not take effect). Unknown-outcome
    /// operations may take effect at any point after their invocation or never;
    /// those that cannot change the state (reads) constrain nothing and are dropped.
    public func check(_ operations: [Operation<Model.Input, Model.Output>]) -> CheckResult<Model> {
        var keys: [Model.PartitionKey] = []
        var operationsOfKey: [Model.PartitionKey: [Int]] = [:]
        for (index, operation) in operations.enumerated() {
            switch operation.outcome {
            case .failed: continue
            case .unknown: if !model.mayChangeState(operation.input) { continue }
            case .ok(_, let returnedAt):
                precondition(returnedAt >= operation.invokedAt, "operation #\(index) returned at \(returnedAt), before its invocation at \(operation.invokedAt)")
            }
            let key = model.partition(operation.input)
            if operationsOfKey[key] == nil { keys.append(key) }
            operationsOfKey[key, default: []].append(index)
        }

        let deadline = limits.timeout.map { ContinuousClock.now + $0 }
        var timedOut = false
        for key in keys {
            let indices = operationsOfKey[key]!
            var search = PartitionSearch(model: model, key: key, operations: indices.map { operations[$0] })
            switch search.run(maxStates: limits.maxStatesPerKey, deadline: deadline) {
            case .linearizable:
                continue
            case .timedOut:
                timedOut = true  // another key may still fail, which is a definite answer
            case .notLinearizable(let deepest):
                return .notLinearizable(Counterexample(
                    model: model, key: key, history: operations, operationCountOnKey: indices.count,
                    linearizedPrefix: deepest.prefix.map { indices[$0] }, stateAfterPrefix: search.state(numbered: deepest.state),
                    couldNotPlace: (deepest.couldNotPlace ?? []).map { indices[$0] },
                    mustTakeEffectFirst: indices[deepest.mustTakeEffectFirst]))
            }
        }
        return timedOut ? .timedOut : .linearizable
    }
}
