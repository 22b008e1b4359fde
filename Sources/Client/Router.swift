import Keyspace
import Synchronization
import Wire

/// The client's shared routing state: the current table and the leader each
/// cell was last seen with.
final class Router: Sendable {
    /// Cached leaders beyond this are forgotten all at once (they are only hints).
    static let leadersMaximum = 65_536

    private struct State: Sendable {
        var table: RoutingTable
        var leaders: [CellID: String] = [:]
        var lastRefresh: ContinuousClock.Instant?
        /// Members that left a request unanswered, until when to try them last.
        var unresponsiveUntil: [String: ContinuousClock.Instant] = [:]
    }

    private let state: Mutex<State>

    init(table: RoutingTable) {
        state = Mutex(State(table: table))
    }

    var table: RoutingTable { state.withLock { $0.table } }

    func leader(of cell: CellID) -> String? {
        state.withLock { $0.leaders[cell] }
    }

    func recordLeader(_ member: String, of cell: CellID) {
        state.withLock { state in
            if state.leaders[cell] == member { return }
            if state.leaders.count >= Self.leadersMaximum { state.leaders.removeAll(keepingCapacity: true) }
            state.leaders[cell] = member
        }
    }

    /// Forgets `member` as the cell's leader (if it is the cached one).
    func forgetLeader(_ member: String, of cell: CellID) {
        state.withLock { state in
            if state.leaders[cell] == member { state.leaders[cell] = nil }
        }
    }

    /// Installs a newer table; cached leaders survive only if placement is unchanged.
    func install(_ table: RoutingTable) {
        state.withLock { state in
            if !state.table.placesLike(table) { state.leaders.removeAll() }
            state.table = table
        }
    }

    /// Puts `member` behind the others for requests that may go to any member, for `duration`.
    func markUnresponsive(_ member: String, for duration: Duration, now: ContinuousClock.Instant = .now) {
        state.withLock { $0.unresponsiveUntil[member] = now + duration }
    }

    /// `members` in random order, those that recently left a request unanswered last.
    func anyMemberOrder(_ members: [String], now: ContinuousClock.Instant = .now) -> [String] {
        let suspects = state.withLock { state in
            state.unresponsiveUntil = state.unresponsiveUntil.filter { $0.value > now }
            return Set(state.unresponsiveUntil.keys)
        }
        let shuffled = members.shuffled()
        return shuffled.filter { !suspects.contains($0) } + shuffled.filter { suspects.contains($0) }
    }

    /// Claims the right to refresh the table: `false` if one was claimed less
    /// than `interval` ago (so a burst of stale answers asks the cluster once).
    func claimRefresh(now: ContinuousClock.Instant, interval: Duration) -> Bool {
        state.withLock { state in
            if let last = state.lastRefresh, now - last < interval { return false }
            state.lastRefresh = now
            return true
        }
    }
}
