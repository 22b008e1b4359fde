import Cell
import Synchronization
import Wire

/// Request rates allowed to each account on one node (DynamoDB's lesson: one
/// tenant's flood must not become every tenant's outage). Units: a write
/// costs one per started KiB of its keys and values, a get or a query page
/// costs one.
public struct AccountRates: Sendable, Equatable {
    /// Write units per second per account on this node; nil: unlimited.
    public var writeUnitsPerSecond: Double?
    /// Read units per second per account on this node; nil: unlimited.
    public var readUnitsPerSecond: Double?
    /// How many seconds of its rate an idle account may spend at once.
    public var burstSeconds: Double

    public init(writeUnitsPerSecond: Double? = 100_000, readUnitsPerSecond: Double? = 100_000, burstSeconds: Double = 2) {
        self.writeUnitsPerSecond = writeUnitsPerSecond
        self.readUnitsPerSecond = readUnitsPerSecond
        self.burstSeconds = burstSeconds
    }

    public static let unlimited = AccountRates(writeUnitsPerSecond: nil, readUnitsPerSecond: nil)
}

/// The token buckets of every account that sent requests here lately.
final class AccountAdmission: Sendable {
    enum Kind: String, Sendable { case read, write }

    let rates: AccountRates
    let memberID: String
    private let buckets = Mutex<(all: [String: TokenBucket], sweptAt: Instant)>(([:], .zero))
    /// Buckets kept before full (idle) ones are forgotten.
    static let bucketsKept = 100_000

    init(rates: AccountRates, memberID: String) {
        self.rates = rates
        self.memberID = memberID
    }

    /// nil if admitted; otherwise the `throttled` answer, naming the account and the limit.
    func admit(account: String, kind: Kind, units: Int, now: Instant) -> ClientResponse.Body? {
        guard let rate = kind == .write ? rates.writeUnitsPerSecond : rates.readUnitsPerSecond else { return nil }
        let admitted = buckets.withLock { buckets -> Bool in
            let key = kind == .write ? "w/" + account : "r/" + account
            var bucket = buckets.all[key] ?? TokenBucket(ratePerSecond: rate, burst: max(1, rate * rates.burstSeconds), now: now)
            let admitted = bucket.take(Double(units), now: now)
            buckets.all[key] = bucket
            // Forgetting full buckets changes nothing; the sweep runs at most once a second.
            if buckets.all.count > Self.bucketsKept, now - buckets.sweptAt > .seconds(1) {
                buckets.all = buckets.all.filter { !$0.value.isFull(now: now) }
                buckets.sweptAt = now
            }
            return admitted
        }
        if admitted { return nil }
        return .error(.throttled, "account \(account.debugDescription) is over its \(kind.rawValue) rate on node \(memberID): "
            + "\(Self.format(rate)) \(kind.rawValue) units per second (a burst of \(Self.format(rate * rates.burstSeconds))); "
            + (kind == .write ? "a write costs one unit per started KiB" : "a get or a query page costs one unit")
            + "; slow down, or raise --account-\(kind.rawValue)-units on the nodes")
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
