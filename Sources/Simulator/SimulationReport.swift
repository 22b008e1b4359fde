/// What one simulation run did and found.
public struct SimulationReport: Sendable, Hashable, CustomStringConvertible {
    public var seed: UInt64 = 0
    public var simulatedSeconds = 0.0
    public var events = 0
    public var messages = 0
    public var messagesDropped = 0
    /// Messages between replicas of cells (no client traffic, no node heartbeats).
    public var cellMessages = 0
    public var fsyncs = 0
    public var commits = 0
    public var leaseReads = 0
    public var eventualReads = 0
    public var operationsOK = 0
    public var operationsFailed = 0
    public var operationsUnknown = 0
    public var historyOperations = 0
    public var crashes = 0
    public var partitions = 0
    public var pauses = 0
    /// Snapshots made on demand for followers behind a leader's compacted log.
    public var snapshotsProvided = 0
    /// Snapshots followers installed (in bounded groups of writes).
    public var snapshotsInstalled = 0
    /// Snapshot installs a crash interrupted, finished when their node restarted.
    public var installsResumed = 0
    /// Checkpoints the nodes' stores wrote (the latest generation of each store, summed).
    public var checkpoints = 0
    /// `nil` if the checker ran out of its budget.
    public var linearizable: Bool? = nil
    /// Every cell had one leader after the faults healed; `nil` if a safety violation stopped the run first.
    public var live: Bool? = nil
    /// The first invariant that broke, with when.
    public var violation: String?

    public init() {}

    public var passed: Bool { violation == nil && linearizable != false }

    public var description: String {
        var lines = [
            "seed \(seed): \(passed ? "PASS" : "FAIL")",
            "  simulated \(String(simulatedSeconds)) s, \(events) events, \(messages) messages (\(messagesDropped) dropped), \(fsyncs) fsyncs, \(checkpoints) checkpoints",
            "  \(commits) entries committed; client operations: \(operationsOK) ok, \(operationsUnknown) unknown, \(operationsFailed) failed;"
                + " \(leaseReads) lease reads, \(eventualReads) eventual reads",
            "  faults: \(crashes) crashes, \(partitions) partitions, \(pauses) pauses; \(snapshotsProvided) snapshots made for followers, \(snapshotsInstalled) installed"
                + (installsResumed > 0 ? ", \(installsResumed) install\(installsResumed == 1 ? "" : "s") finished after a crash" : ""),
            "  liveness: " + (live.map { $0 ? "every cell led" : "FAILED" } ?? "not checked"),
            "  history of \(historyOperations) operations: "
                + (linearizable.map { $0 ? "linearizable" : "NOT linearizable" } ?? "checker budget exhausted"),
        ]
        if let violation { lines.append("  violation \(violation)") }
        return lines.joined(separator: "\n")
    }
}
