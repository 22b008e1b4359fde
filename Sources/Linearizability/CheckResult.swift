/// The checker's verdict on a history.
public enum CheckResult<Model: SequentialModel>: CustomStringConvertible {
    /// Every key's operations can be put in one order that respects real time and the model.
    case linearizable
    /// Some key's operations cannot; the counterexample says which key and where it breaks.
    case notLinearizable(Counterexample<Model>)
    /// The search reached `CheckLimits` on some key before deciding, and no key failed.
    case timedOut

    public var isLinearizable: Bool {
        if case .linearizable = self { return true }
        return false
    }

    public var isTimedOut: Bool {
        if case .timedOut = self { return true }
        return false
    }

    public var counterexample: Counterexample<Model>? {
        if case .notLinearizable(let counterexample) = self { return counterexample }
        return nil
    }

    public var description: String {
        switch self {
        case .linearizable: "linearizable"
        case .notLinearizable(let counterexample): counterexample.description
        case .timedOut: "timed out: the search reached its limits before deciding"
        }
    }
}
