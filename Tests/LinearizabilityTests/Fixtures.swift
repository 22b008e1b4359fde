import Linearizability

typealias Register = RegisterModel<String, Int>
typealias RegisterOperation = Operation<Register.Input, Register.Output>

/// An operation that returned `output`, invoked and returned at the ends of `interval`.
func op(_ client: Int, _ input: Register.Input, _ interval: ClosedRange<Int>, _ output: Register.Output) -> RegisterOperation {
    Operation(client: client, input: input, invokedAt: interval.lowerBound, outcome: .ok(output, returnedAt: interval.upperBound))
}

/// An operation whose client never learned its outcome.
func unknown(_ client: Int, _ input: Register.Input, invokedAt: Int) -> RegisterOperation {
    Operation(client: client, input: input, invokedAt: invokedAt, outcome: .unknown)
}

/// An operation the system said did not take effect.
func failed(_ client: Int, _ input: Register.Input, invokedAt: Int) -> RegisterOperation {
    Operation(client: client, input: input, invokedAt: invokedAt, outcome: .failed)
}

func check(_ operations: [RegisterOperation], model: Register = Register(), limits: CheckLimits = CheckLimits()) -> CheckResult<Register> {
    LinearizabilityChecker(model: model, limits: limits).check(operations)
}
