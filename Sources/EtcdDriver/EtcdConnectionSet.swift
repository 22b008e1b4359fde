import NIOCore
import NIOSSL

/// The connections one run uses: `perEndpoint` to every member, opened
/// together, with the leader found among them.
struct EtcdConnectionSet: Sendable {
    let leaderEndpoint: String
    /// The leader's connections, for writes: no hop through a follower.
    let leaderConnections: [EtcdConnection]
    /// Every member's connections, interleaved member by member, so that
    /// consecutive sessions read from different members.
    let readConnections: [EtcdConnection]

    static func open(
        endpoints: [String], perEndpoint: Int, eventLoopGroup: any EventLoopGroup, connectTimeout: Duration,
        callTimeout: Duration, tls: NIOSSLContext?
    ) async throws -> EtcdConnectionSet {
        // Every attempt is awaited, so that a failure leaves no connection open behind it.
        let attempts = await withTaskGroup(of: (Int, Int, Result<EtcdConnection, any Error>).self) { group in
            for (member, endpoint) in endpoints.enumerated() {
                for slot in 0..<perEndpoint {
                    group.addTask {
                        do {
                            let connection = try await EtcdConnection.connect(
                                to: endpoint, eventLoopGroup: eventLoopGroup, connectTimeout: connectTimeout,
                                callTimeout: callTimeout, tls: tls)
                            return (member, slot, .success(connection))
                        } catch {
                            return (member, slot, .failure(error))
                        }
                    }
                }
            }
            var attempts: [[Result<EtcdConnection, any Error>?]] = Array(
                repeating: Array(repeating: nil, count: perEndpoint), count: endpoints.count)
            for await (member, slot, result) in group { attempts[member][slot] = result }
            return attempts
        }
        var connections: [[EtcdConnection]] = []
        var failure: (any Error)?
        for (member, memberAttempts) in attempts.enumerated() {
            var memberConnections: [EtcdConnection] = []
            for attempt in memberAttempts {
                switch attempt {
                case .success(let connection)?: memberConnections.append(connection)
                case .failure(let error)?: failure = failure ?? error
                case nil:  // every child task reports, so this cannot happen; fail rather than trap
                    failure = failure ?? EtcdCallError.connectFailed(endpoint: endpoints[member], reason: "no outcome")
                }
            }
            connections.append(memberConnections)
        }
        let opened = connections.joined()
        if let failure {
            for connection in opened { await connection.close() }
            throw failure
        }

        let statuses = await withTaskGroup(of: (Int, Result<EtcdMemberStatus, any Error>).self) { group in
            for (member, memberConnections) in connections.enumerated() {
                group.addTask {
                    // Awaited into a local first: Swift 6.3.1 -O miscompiles `(member, .success(try await …))`
                    // in a task group child, corrupting `member`.
                    do {
                        let status = try await memberConnections[0].status()
                        return (member, .success(status))
                    } catch {
                        return (member, .failure(error))
                    }
                }
            }
            var statuses = [Result<EtcdMemberStatus, any Error>](
                repeating: .failure(EtcdCallError.noLeader(endpoints: endpoints, observed: "not asked")),
                count: endpoints.count)
            for await (member, result) in group { statuses[member] = result }
            return statuses
        }
        let leader: Int
        do {
            leader = try EtcdLeaderChoice.leaderIndex(requiringEvery: statuses, endpoints: endpoints)
        } catch {
            for connection in opened { await connection.close() }
            throw error
        }
        return EtcdConnectionSet(
            leaderEndpoint: endpoints[leader], leaderConnections: connections[leader],
            readConnections: (0..<perEndpoint).flatMap { slot in connections.map { $0[slot] } })
    }

    func closeAll() async {
        for connection in readConnections { await connection.close() }
    }
}
