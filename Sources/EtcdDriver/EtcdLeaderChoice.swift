/// Which member leads, from the members' own Status answers.
enum EtcdLeaderChoice {
    /// The index of the member whose id is the leader most members name, or
    /// nil when none names one or the one named did not answer. Counting
    /// votes rides out a moment where a deposed leader still names itself.
    static func leaderIndex(in statuses: [EtcdMemberStatus?]) -> Int? {
        var votes: [UInt64: Int] = [:]
        for case let status? in statuses where status.hasLeader { votes[status.leaderID, default: 0] += 1 }
        let ranked = votes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        for (leaderID, _) in ranked {
            if let index = statuses.firstIndex(where: { $0?.memberID == leaderID }) { return index }
        }
        return nil
    }

    /// The index of the leader, demanding that every member answered: a
    /// member that cannot answer Status would fail every read sent to it.
    /// Throws the first member's error, or ``EtcdCallError/noLeader(endpoints:observed:)``.
    static func leaderIndex(
        requiringEvery results: [Result<EtcdMemberStatus, any Error>], endpoints: [String]
    ) throws -> Int {
        for case .failure(let error) in results { throw error }
        guard let leader = leaderIndex(in: results.map { try? $0.get() }) else {
            throw EtcdCallError.noLeader(endpoints: endpoints, observed: describe(endpoints: endpoints, results: results))
        }
        return leader
    }

    /// What each endpoint said, for an error that explains a missing leader.
    static func describe(endpoints: [String], results: [Result<EtcdMemberStatus, any Error>]) -> String {
        zip(endpoints, results).map { endpoint, result in
            switch result {
            case .success(let status): "\(endpoint): \(status)"
            case .failure(let error): "\(endpoint): \(error)"
            }
        }.joined(separator: "; ")
    }
}
