/// Which replica one call tries next. The first try goes to the cached leader,
/// else to the first replica the client already has a connection to (it
/// answered lately: a node that hangs would cost a connect timeout, and a
/// follower redirects to its leader at once), else to the first in placement
/// order; after a failure the caller
/// either advances (round-robin through the replicas), redirects (to a leader
/// hint) or stays (retries the same member).
struct ReplicaCursor: Sendable {
    private(set) var current: String?
    private var redirect: String?
    private var advancing = false

    init() {}

    /// The member to try now; `nil` only when `replicas` is empty.
    mutating func next(replicas: [String], leader: String?, connected: Set<String> = []) -> String? {
        defer {
            redirect = nil
            advancing = false
        }
        guard !replicas.isEmpty else { return nil }
        if let redirect, replicas.contains(redirect) {
            current = redirect
            return redirect
        }
        let choice: String
        if let current, let index = replicas.firstIndex(of: current) {
            choice = advancing ? replicas[(index + 1) % replicas.count] : current
        } else if let leader, replicas.contains(leader) {
            choice = leader
        } else {
            choice = replicas.first(where: connected.contains) ?? replicas[0]
        }
        current = choice
        return choice
    }

    /// The next try goes to the replica after the current one.
    mutating func advance() {
        advancing = true
        redirect = nil
    }

    /// The next try goes to `member` if it is a replica then (else it advances).
    mutating func redirect(to member: String) {
        redirect = member
        advancing = true
    }
}
