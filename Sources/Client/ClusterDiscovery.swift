import Wire

/// Asks nodes for the cluster's member list and placement settings.
enum ClusterDiscovery {
    struct Target: Sendable {
        /// How the target appears in messages: a member id or a seed address.
        var name: String
        var endpoint: Endpoint
    }

    /// Tries `targets` in order, `rounds` times (with backoff between rounds;
    /// `nil`: until `deadline`), and returns the first routing table a node gives.
    static func fetch(
        from targets: [Target], pool: ConnectionPool, options: ClientOptions,
        deadline: ContinuousClock.Instant, rounds: Int? = nil
    ) async throws -> RoutingTable {
        let clock = ContinuousClock()
        var log = AttemptLog()
        var backoff = Backoff(initial: options.backoffInitial, maximum: options.backoffMaximum)
        var random = SystemRandomNumberGenerator()
        var round = 0
        var attempts = 0
        let minimumAttempt = minimumAttemptTime(options)
        func failure() -> TesseraClientError {
            let names = targets.map(\.name).joined(separator: ", ")
            var message = "could not get the member list from any of \(names) within \(options.deadline.readable)"
            if !log.isEmpty { message += "; tried \(log.summary)" }
            return .timeout(message, outcomeUnknown: false)
        }
        while rounds.map({ round < $0 }) ?? true {
            round += 1
            for target in targets {
                let remaining = deadline - clock.now
                guard remaining > .zero, attempts == 0 || remaining >= minimumAttempt else { throw failure() }
                attempts += 1
                do {
                    let connection = try await pool.connection(to: target.endpoint)
                    let body = try await connection.send(.clusterInfo, timeout: min(options.attemptTimeout, remaining))
                    switch body {
                    case .clusterInfo(let info):
                        return try RoutingTable(info)
                    case .error(.unauthenticated, let message):
                        throw TesseraClientError.unauthenticated("\(target.name) refused this client: \(message)")
                    case .error(.forbidden, let message):
                        throw TesseraClientError.forbidden("\(target.name) refused this client: \(message)")
                    case .error(let code, let message):
                        log.record(target.name, "\(code): \(abbreviated(message))")
                    default:
                        throw TesseraClientError.protocolError(
                            "\(target.name) answered a cluster-info request with \(body.kindName)")
                    }
                } catch let failure as TransportFailure {
                    if failure.kind == .protocolViolation {
                        throw TesseraClientError.protocolError("\(target.name): \(failure.reason)")
                    }
                    if failure.kind == .credentialsRefused {
                        throw TesseraClientError.unauthenticated("\(target.name): \(failure.reason)")
                    }
                    log.record(target.name, failure.reason)
                }
            }
            if let rounds, round >= rounds { break }
            let pause = backoff.next(using: &random)
            guard deadline - clock.now - pause >= minimumAttempt else { throw failure() }
            try await Task.sleep(for: pause)
        }
        throw failure()
    }
}

extension ClientResponse.Body {
    /// What kind of answer this is, for messages.
    var kindName: String {
        switch self {
        case .written: "a write result"
        case .conditionFailed: "a condition failure"
        case .item: "an item"
        case .page: "a query page"
        case .notLeader: "a leader redirect"
        case .error(let code, _): "an error (\(code))"
        case .clusterInfo: "cluster info"
        case .nodeStatus: "a node status"
        case .principal: "a principal"
        case .accessKeyCreated: "a new access key"
        case .accessKeys: "access keys"
        case .programDeployed: "a deployed program"
        case .programs: "a program list"
        case .invoked: "an invocation result"
        case .queueOutcome: "a queue outcome"
        case .queueEntries: "queue entries"
        case .queueStatus: "a queue status"
        case .queuePosition: "a queue position"
        }
    }
}
