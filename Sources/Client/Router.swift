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
