import Keyspace

/// Which items of a collection a query returns.
public struct QueryRange: Sendable, Hashable {
    /// Lowest sort key returned (inclusive); `nil` for the first.
    public var from: [UInt8]?
    /// Highest sort key returned (inclusive); `nil` for the last.
    public var to: [UInt8]?
    /// Descending sort-key order.
    public var reverse: Bool
    /// At most this many items per page.
    public var limit: Int
    /// Resume after the page that returned this token.
    public var continuation: ContinuationToken?

    public static let limitMaximum = 10_000

    public init(
        from: [UInt8]? = nil, to: [UInt8]? = nil, reverse: Bool = false,
        limit: Int = 1_000, continuation: ContinuationToken? = nil
    ) {
        self.from = from
        self.to = to
        self.reverse = reverse
        self.limit = min(max(limit, 1), Self.limitMaximum)
        self.continuation = continuation
    }
}

/// One page of query results.
public struct QueryPage: Sendable, Hashable {
    public var items: [Item]
    /// Present when more items match: pass it back to get the next page.
    public var continuation: ContinuationToken?
}

/// Where the next page of a query starts: the last sort key returned.
/// Its text form is hex, so it can travel through a CLI or JSON.
public struct ContinuationToken: Sendable, Hashable, CustomStringConvertible {
    public let lastSortKey: [UInt8]

    public init(lastSortKey: [UInt8]) { self.lastSortKey = lastSortKey }

    public init(text: String) throws(StorageError) {
        let digits = Array(text.utf8)
        guard digits.first == UInt8(ascii: "k"), let bytes = Hex.decode(digits.dropFirst(), lowercaseOnly: true) else {
            throw .invalidContinuationToken
        }
        lastSortKey = bytes
    }

    /// `k` followed by the hex of the last sort key.
    public var description: String { "k" + Hex.encode(lastSortKey) }
}
