import Credentials
import Foundation
import NIOCore
import Wire

/// Turns a connection's credential into a ``Subject`` for each request, or
/// the typed refusal that says why not. Certificates carry their grants;
/// access keys are checked against the node's copy of the key records
/// (``AccessKeyDirectory``), on every request, so a revoked or expired key
/// stops working on connections already open.
final class AccessControl: Sendable {
    enum Resolution {
        case subject(Subject)
        case refused(ClientResponse.Body)
        /// The copy of the key records is too old to judge by: read it again (from `demand` on), then resolve.
        case readKeys(demand: NIODeadline)
    }

    let directory: AccessKeyDirectory

    init(directory: AccessKeyDirectory) {
        self.directory = directory
    }

    /// `afterRead`: the copy was just read for this request, so a stale or
    /// missing answer is final.
    func resolve(_ credential: ConnectionCredential, now: NIODeadline = .now(), afterRead: Bool = false) -> Resolution {
        switch credential {
        case .none:
            return .refused(.error(.unauthenticated, "no credentials: this cluster requires a client certificate of its CA (--tls-cert and --tls-key) or an access key (--access-key-id and TESSERA_ACCESS_KEY_SECRET)"))
        case .fixed(let subject):
            return .subject(subject)
        case .accessKey(let id, let digest):
            switch directory.lookup(id, now: now) {
            case .stale:
                return afterRead
                    ? .refused(.error(.unavailable, "access key \(id) cannot be checked now: the key records could not be read in time; retry"))
                    : .readKeys(demand: now)
            case .unknown(let copyStartedAt):
                if !afterRead && now - copyStartedAt > AccessKeyDirectory.unknownKeyRereadInterval { return .readKeys(demand: now) }
                return .refused(Self.wrongKey(id))
            case .found(let known):
                let record = known.record
                guard Self.constantTimeEqual(record.secretSHA256, digest) else { return .refused(Self.wrongKey(id)) }
                if let revoked = record.revokedAtSeconds {
                    return .refused(.error(.unauthenticated, "access key \(id) was revoked at \(Self.time(revoked)) by \(record.revokedBy ?? "an administrator")"))
                }
                if record.isExpired(at: Date()), let expiry = record.expiresAtSeconds {
                    return .refused(.error(.unauthenticated, "access key \(id) expired at \(Self.time(expiry))"))
                }
                return .subject(known.subject)
            }
        }
    }

    /// Resolves after reading the key records again (when `resolve` asked for it).
    func resolveAfterReading(_ credential: ConnectionCredential, demand: NIODeadline) async -> Resolution {
        do {
            try await directory.refresh(after: demand)
        } catch {
            return .refused(.error(.unavailable, "access keys cannot be checked now: reading the key records failed: \(error); retry"))
        }
        return resolve(credential, afterRead: true)
    }

    /// One message for an unknown id and a wrong secret, so that it tells nothing about which ids exist.
    private static func wrongKey(_ id: String) -> ClientResponse.Body {
        .error(.unauthenticated, "access key \(id) was refused: no such key, or the secret is wrong")
    }

    static func time(_ seconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
