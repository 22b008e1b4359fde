import NIOCore
import NIOPosix
import NIOSSL

/// Status probes for the orchestrator, which must wait for a cluster it
/// started to elect a leader before measuring it. Each probe opens and
/// closes its own connections.
extension EtcdSystem {
    /// Each endpoint's Status answer, or why there was none, in endpoint order.
    public static func memberStatuses(
        endpoints: [String], eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: Duration = .seconds(2), tls: NIOSSLContext? = nil
    ) async -> [Result<EtcdMemberStatus, any Error>] {
        await withTaskGroup(of: (Int, Result<EtcdMemberStatus, any Error>).self) { group in
            for (index, endpoint) in endpoints.enumerated() {
                group.addTask {
                    let connection: EtcdConnection
                    do {
                        connection = try await EtcdConnection.connect(
                            to: endpoint, eventLoopGroup: eventLoopGroup, connectTimeout: timeout, callTimeout: timeout,
                            tls: tls)
                    } catch {
                        return (index, .failure(error))
                    }
                    let status: Result<EtcdMemberStatus, any Error>
                    do {
                        // Awaited into a local first: see EtcdConnectionSet.open on a Swift 6.3.1 miscompile.
                        let answer = try await connection.status()
                        status = .success(answer)
                    } catch {
                        status = .failure(error)
                    }
                    await connection.close()
                    return (index, status)
                }
            }
            var results = [Result<EtcdMemberStatus, any Error>](
                repeating: .failure(EtcdCallError.noLeader(endpoints: endpoints, observed: "not asked")),
                count: endpoints.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
    }

    /// The endpoint of the member the others follow, or nil while some
    /// member does not answer or none names a leader.
    public static func leaderEndpoint(
        among endpoints: [String], eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: Duration = .seconds(2)
    ) async -> String? {
        let statuses = await memberStatuses(endpoints: endpoints, eventLoopGroup: eventLoopGroup, timeout: timeout)
        return (try? EtcdLeaderChoice.leaderIndex(requiringEvery: statuses, endpoints: endpoints)).map { endpoints[$0] }
    }

    /// Asks every 100 ms until every member answers and a leader is known;
    /// returns its endpoint, or throws what the last round saw once `timeout` passed.
    public static func waitForLeader(
        endpoints: [String], timeout: Duration = .seconds(10),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            // Read before the attempt: a task that was not scheduled past the
            // deadline (a busy machine) still gets one more try.
            let lastTry = clock.now >= deadline
            let probeTimeout = min(.seconds(2), max(.milliseconds(100), deadline - clock.now))
            let statuses = await memberStatuses(endpoints: endpoints, eventLoopGroup: eventLoopGroup, timeout: probeTimeout)
            do {
                return endpoints[try EtcdLeaderChoice.leaderIndex(requiringEvery: statuses, endpoints: endpoints)]
            } catch {
                guard !lastTry else { throw error }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// One round of Status on every member, on connections of its own (the
    /// run's are not opened): the leader's endpoint, or the error of the
    /// first member that did not answer, or ``EtcdCallError/noLeader(endpoints:observed:)``.
    @discardableResult
    public func findLeader(timeout: Duration = .seconds(2)) async throws -> String {
        let statuses = await Self.memberStatuses(endpoints: endpoints, eventLoopGroup: eventLoopGroup, timeout: timeout, tls: tls)
        return endpoints[try EtcdLeaderChoice.leaderIndex(requiringEvery: statuses, endpoints: endpoints)]
    }
}
