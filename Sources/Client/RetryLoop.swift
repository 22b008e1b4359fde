import Keyspace
import Wire

/// Which replicas may answer a request, and whether its success tells who leads.
enum Route: Sendable {
    /// To the leader; a success names it.
    case write
    /// To the leader; a success names it.
    case strongRead
    /// Any replica, the cached leader first.
    case eventualRead
}

/// A node's answer in the shape the retry loop expects: the one it wants, or not.
enum Decoded<Value: Sendable>: Sendable {
    case value(Value)
    case unexpected
}

extension TesseraClient {
    /// `throttled` answers retried (after backoff pauses) before the call throws
    /// ``TesseraClientError/throttled(_:)``.
    static let throttledRetriesMaximum = 2

    /// Sends one request to the replicas of `pointer`'s cell until one answers
    /// it, or the deadline passes. `makeBody` is called for every attempt (a
    /// write's `acknowledgedBelow` moves on; its sequence does not). `operation`
    /// names the call in messages ("put acct/res/rnd/key").
    func perform<Value: Sendable>(
        _ operation: String, pointer: Pointer, route: Route,
        body makeBody: () -> ClientRequest.Body,
        decode: (ClientResponse.Body) -> Decoded<Value>
    ) async throws -> Value {
        let clock = ContinuousClock()
        let deadline = clock.now + options.deadline
        var cursor = ReplicaCursor()
        var backoff = Backoff(initial: options.backoffInitial, maximum: options.backoffMaximum)
        var random = SystemRandomNumberGenerator()
        var log = AttemptLog()
        var mayHaveApplied = false
        var redirectsInRow = 0
        var timeoutsInRow = 0
        var cell = router.table.cell(of: pointer)
        var attempts = 0
        var throttles = 0
        let minimumAttempt = minimumAttemptTime(options)
        let isWrite = route == .write

        func deadlineError() -> TesseraClientError {
            var message = "\(operation): no replica of cell \(cell) answered within \(options.deadline.readable)"
            message += log.isEmpty ? "; no attempt could be made" : "; tried \(log.summary)"
            if isWrite {
                message += mayHaveApplied
                    ? "; the write's outcome is unknown (it may have been applied)"
                    : "; the write was not applied"
            }
            return .timeout(message, outcomeUnknown: isWrite && mayHaveApplied)
        }

        func outcomeClause() -> String {
            isWrite ? "; the write's outcome is unknown (it may have been applied)" : ""
        }

        while true {
            try Task.checkCancellation()
            guard !isClosed else {
                if isWrite && mayHaveApplied {
                    throw TesseraClientError.outcomeUnknown("\(operation): the client was closed before the write was answered")
                }
                throw TesseraClientError.unavailable("\(operation): the client is closed")
            }
            let remaining = deadline - clock.now
            guard remaining > .zero, attempts == 0 || remaining >= minimumAttempt else { throw deadlineError() }
            attempts += 1

            let table = router.table
            cell = table.cell(of: pointer)
            let replicas = table.replicas(of: cell)
            let connected = Set(replicas.filter { table.endpoint(of: $0).map { pool.hasOpenConnection(to: $0) } ?? false })
            guard let memberID = cursor.next(replicas: replicas, leader: router.leader(of: cell), connected: connected),
                  let endpoint = table.endpoint(of: memberID) else {
                throw TesseraClientError.protocolError("\(operation): cell \(cell) has no replicas in the cluster's member list")
            }

            // One attempt. Each branch either returns, throws, or says what to do next.
            var pause = true
            do {
                let connection = try await pool.connection(to: endpoint)
                let answer = try await connection.send(makeBody(), timeout: min(options.attemptTimeout, remaining))
                if case .notLeader = answer {} else { redirectsInRow = 0 }
                if case .error(.timeout, _) = answer {} else { timeoutsInRow = 0 }
                switch answer {
                case .notLeader(let hint):
                    router.forgetLeader(memberID, of: cell)
                    if let hint, hint != memberID {
                        log.record(memberID, "redirected to \(hint)")
                        if table.member(hint) == nil || !replicas.contains(hint) {
                            // The node knows a leader our table does not place here: our member list is stale.
                            await refreshTable(preferring: endpoint, deadline: deadline)
                        }
                        router.recordLeader(hint, of: cell)
                        cursor.redirect(to: hint)
                        redirectsInRow += 1
                        pause = redirectsInRow > 2
                    } else {
                        log.record(memberID, "no leader")
                        cursor.advance()
                    }

                case .error(let code, let message):
                    let detail = abbreviated(message)
                    switch code {
                    case .badRequest:
                        throw TesseraClientError.badRequest("\(operation): \(memberID) refused the request: \(message)")
                    case .unauthenticated:
                        throw TesseraClientError.unauthenticated("\(operation): \(memberID) refused the request: \(message)")
                    case .forbidden:
                        throw TesseraClientError.forbidden("\(operation): \(message)")
                    case .internalError:
                        throw TesseraClientError.internalError(
                            "\(operation): \(memberID) failed: \(message)" + (isWrite ? outcomeClause() : ""))
                    case .expired:
                        throw TesseraClientError.outcomeUnknown(
                            "\(operation): \(memberID) reports the write expired (the cell had already forgotten this retry): \(message)")
                    case .unavailable:
                        log.record(memberID, detail.isEmpty ? "unavailable" : "unavailable: \(detail)")
                        router.forgetLeader(memberID, of: cell)
                        cursor.advance()
                    case .shuttingDown:
                        log.record(memberID, "shutting down")
                        router.forgetLeader(memberID, of: cell)
                        cursor.advance()
                    case .timeout:
                        log.record(memberID, detail.isEmpty ? "node timed out" : "node timed out: \(detail)")
                        if isWrite { mayHaveApplied = true }
                        timeoutsInRow += 1
                        if timeoutsInRow >= 2 {
                            router.forgetLeader(memberID, of: cell)
                            cursor.advance()
                            timeoutsInRow = 0
                        }
                    case .overloaded:
                        // The node is at a bound: the same replica, after a backoff pause.
                        log.record(memberID, detail.isEmpty ? "overloaded" : "overloaded: \(detail)")
                    case .throttled:
                        // Like the AWS SDKs: a few retries after backoff pauses, then the caller is told to slow down.
                        throttles += 1
                        guard throttles <= Self.throttledRetriesMaximum else {
                            if isWrite && mayHaveApplied {
                                // An earlier attempt may have been applied: "nothing was applied" would be a lie.
                                throw TesseraClientError.outcomeUnknown("\(operation): \(memberID) throttled the retry: \(message)" + outcomeClause())
                            }
                            throw TesseraClientError.throttled("\(operation): \(memberID) refused it: \(message)")
                        }
                        log.record(memberID, "throttled")
                    case .notReplica:
                        log.record(memberID, "not a replica of cell \(cell)")
                        router.forgetLeader(memberID, of: cell)
                        await refreshTable(preferring: endpoint, deadline: deadline)
                        cursor.advance()
                    case .notFound:
                        throw TesseraClientError.queue(.unknownQueue, "\(operation): \(message)")
                    case .trimmed:
                        throw TesseraClientError.queue(.trimmed, "\(operation): \(message)")
                    case .invalidProgram, .programTrapped, .limitExceeded:
                        // Only program requests get these; a node sending one here is not following the protocol.
                        throw TesseraClientError.protocolError("\(operation): \(memberID) answered \(code): \(message)")
                    }

                default:
                    switch decode(answer) {
                    case .value(let value):
                        if route != .eventualRead { router.recordLeader(memberID, of: cell) }
                        return value
                    case .unexpected:
                        throw TesseraClientError.protocolError(
                            "\(operation): \(memberID) answered with \(answer.kindName)" + (isWrite ? outcomeClause() : ""))
                    }
                }
            } catch let failure as TransportFailure {
                redirectsInRow = 0
                timeoutsInRow = 0
                if failure.requestMayHaveArrived && isWrite { mayHaveApplied = true }
                if failure.kind == .protocolViolation {
                    throw TesseraClientError.protocolError(
                        "\(operation): \(memberID): \(failure.reason)" + (mayHaveApplied ? outcomeClause() : ""))
                }
                if failure.kind == .credentialsRefused {
                    throw TesseraClientError.unauthenticated("\(operation): \(memberID): \(failure.reason)" + (mayHaveApplied ? outcomeClause() : ""))
                }
                log.record(memberID, failure.reason)
                router.forgetLeader(memberID, of: cell)
                cursor.advance()
            }

            if pause {
                let delay = backoff.next(using: &random)
                guard deadline - clock.now - delay >= minimumAttempt else { throw deadlineError() }
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Asks the cluster for its member list again (at most every 200 ms across
    /// all calls): `preferring` first, then the other members, then the seeds,
    /// one try each. Failures are ignored: the caller keeps retrying.
    func refreshTable(preferring endpoint: Endpoint?, deadline: ContinuousClock.Instant) async {
        let clock = ContinuousClock()
        guard router.claimRefresh(now: clock.now, interval: .milliseconds(200)) else { return }
        let targets = discoveryTargets(preferring: endpoint)
        if let table = try? await ClusterDiscovery.fetch(
            from: targets, pool: pool, options: options, deadline: deadline, rounds: 1) {
            router.install(table)
        }
    }

    /// Every node this client knows: `preferring` first, then the members, then the seeds.
    func discoveryTargets(preferring endpoint: Endpoint? = nil) -> [ClusterDiscovery.Target] {
        let table = router.table
        var targets: [ClusterDiscovery.Target] = []
        var seen = Set<Endpoint>()
        func add(_ name: String, _ endpoint: Endpoint) {
            if seen.insert(endpoint).inserted { targets.append(.init(name: name, endpoint: endpoint)) }
        }
        let namesByEndpoint = Dictionary(
            table.memberIDs.compactMap { id in table.endpoint(of: id).map { ($0, id) } },
            uniquingKeysWith: { first, _ in first })
        if let endpoint { add(namesByEndpoint[endpoint] ?? endpoint.description, endpoint) }
        for id in table.memberIDs {
            if let endpoint = table.endpoint(of: id) { add(id, endpoint) }
        }
        for seed in seeds { add(seed.description, seed) }
        return targets
    }
}
