import Credentials
import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Replaces a node's TLS credentials without a restart: on SIGHUP, and when
/// one of the credential files changes (checked every ``pollInterval``). A
/// file caught half-written does not load; the node keeps its current
/// credentials, logs why, and tries again at the next change or signal.
final class CredentialReloading: @unchecked Sendable {
    static let pollInterval: Duration = .seconds(2)

    private let security: LinkSecurity
    private let logger: Logger
    private let onReload: @Sendable (TLSCredentials) -> Void
    private let queue = DispatchQueue(label: "tessera.credentials")
    private var signalSource: (any DispatchSourceSignal)?
    private var poller: Task<Void, Never>?
    /// What the files looked like when they last loaded (or last failed to).
    private var lastSeen: [String]

    init(security: LinkSecurity, logger: Logger, onReload: @escaping @Sendable (TLSCredentials) -> Void) {
        self.security = security
        self.logger = logger
        self.onReload = onReload
        lastSeen = Self.signature(security.credentials.files)
    }

    func start() {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        source.setEventHandler { [weak self] in self?.reload(reason: "SIGHUP") }
        source.resume()
        signalSource = source
        poller = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.pollInterval)
                guard let self else { return }
                self.queue.sync {
                    let now = Self.signature(self.security.credentials.files)
                    if now != self.lastSeen { self.reload(reason: "a credential file changed") }
                }
            }
        }
    }

    func stop() {
        signalSource?.cancel()
        poller?.cancel()
    }

    /// Runs on `queue`.
    private func reload(reason: String) {
        lastSeen = Self.signature(security.credentials.files)
        do {
            let loaded = try security.reload()
            logger.info("TLS credentials reloaded", metadata: [
                "reason": "\(reason)", "certificate": "\(loaded.files.certificate)", "validUntil": "\(loaded.notValidAfter)"])
            onReload(loaded)
        } catch {
            logger.warning("TLS credentials not reloaded; keeping the current ones", metadata: [
                "reason": "\(reason)", "error": "\(error)"])
        }
    }

    /// Size and modification time of each file: what changes when a file is replaced or rewritten.
    private static func signature(_ files: TLSCredentialFiles) -> [String] {
        [files.certificateAuthority, files.certificate, files.privateKey].map { path in
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return "missing" }
            let size = attributes[.size] as? Int ?? -1
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(size)@\(modified)"
        }
    }
}
