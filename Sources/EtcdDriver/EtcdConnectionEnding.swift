import Synchronization

/// Why a connection ended, for the errors of the calls it takes down.
final class EtcdConnectionEnding: Sendable {
    private let reason = Mutex<String?>(nil)

    /// Keeps the first reason: later ones are consequences of it.
    func record(_ text: String) {
        reason.withLock { if $0 == nil { $0 = text } }
    }

    var description: String {
        reason.withLock { $0 } ?? "the connection was lost (closed by the server or the network)"
    }
}
