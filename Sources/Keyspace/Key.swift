/// The address of one item: `account/resource/type/primaryKey[/sortKey]`.
///
/// `account`, `resource`, `type` and `primaryKey` are hashed into the item
/// collection's ``Pointer``; the `sortKey` is not, so every sort key of one
/// primary key lives in the same collection, in order.
///
/// Limits (checked by ``init(account:resource:type:primaryKey:sortKey:)``):
///
/// | part       | limit                                                     |
/// |------------|-----------------------------------------------------------|
/// | account    | 1–64 characters of `a-z`, `0-9`, `-`                       |
/// | resource   | 3–255 characters of `A-Z`, `a-z`, `0-9`, `_`, `.`, `-`     |
/// | type       | `rnd` or `lnr`                                             |
/// | primaryKey | 1–2048 bytes, any bytes                                   |
/// | sortKey    | 0–1024 bytes, any bytes; empty means "no sort key"        |
public struct Key: Hashable, Sendable {
    public static let accountLengthRange = 1...64
    public static let resourceLengthRange = 3...255
    public static let primaryKeyLengthRange = 1...2048
    public static let sortKeyLengthMaximum = 1024

    public let account: String
    public let resource: String
    public let type: ResourceType
    public let primaryKey: [UInt8]
    /// Empty when the key has no sort key.
    public let sortKey: [UInt8]
    /// The address of this key's item collection: SHA-512 of the canonical
    /// collection bytes, computed once here because the storage engine, the
    /// client and the server each ask for it on every operation.
    public let pointer: Pointer

    public init(
        account: String, resource: String, type: ResourceType,
        primaryKey: [UInt8], sortKey: [UInt8] = []
    ) throws(KeyError) {
        try Self.validateAccount(account)
        try Self.validateResource(resource)
        try Self.validateLength(of: primaryKey, part: .primaryKey, in: Self.primaryKeyLengthRange)
        try Self.validateLength(of: sortKey, part: .sortKey, in: 0...Self.sortKeyLengthMaximum)
        self.account = account
        self.resource = resource
        self.type = type
        self.primaryKey = primaryKey
        self.sortKey = sortKey
        pointer = Pointer(hashing: Self.canonicalCollectionBytes(account: account, resource: resource, type: type, primaryKey: primaryKey))
    }

    private init(sameCollectionAs key: Key, sortKey: [UInt8]) {
        account = key.account
        resource = key.resource
        type = key.type
        primaryKey = key.primaryKey
        pointer = key.pointer
        self.sortKey = sortKey
    }

    /// This key's collection with another sort key; the pointer is reused, not hashed again.
    public func withSortKey(_ sortKey: [UInt8]) throws(KeyError) -> Key {
        try Self.validateLength(of: sortKey, part: .sortKey, in: 0...Self.sortKeyLengthMaximum)
        return Key(sameCollectionAs: self, sortKey: sortKey)
    }

    /// Convenience for textual primary and sort keys.
    public init(
        account: String, resource: String, type: ResourceType,
        primaryKey: String, sortKey: String = ""
    ) throws(KeyError) {
        try self.init(
            account: account, resource: resource, type: type,
            primaryKey: Array(primaryKey.utf8), sortKey: Array(sortKey.utf8))
    }

    /// Parses the text form `account/resource/type/primaryKey[/sortKey]`.
    ///
    /// `/` and `%` inside a part are percent-escaped (`%2F`, `%25`); any byte may be
    /// written as `%XX`.
    public init(parsing text: String) throws(KeyError) {
        let bytes = Array(text.utf8)
        var parts: [ArraySlice<UInt8>] = []
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "/") {
            parts.append(bytes[start..<index])
            start = index + 1
        }
        parts.append(bytes[start...])
        if parts.count > 5 { throw KeyError(part: .sortKey, rule: .unescapedSlash) }
        let order: [KeyError.Part] = [.account, .resource, .type, .primaryKey]
        if parts.count < 4 { throw KeyError(part: order[parts.count], rule: .missing) }

        func decode(_ index: Int, _ part: KeyError.Part) throws(KeyError) -> [UInt8] {
            switch PercentEscaping.unescape(parts[index]) {
            case .success(let decoded): return decoded
            case .failure(let bad): throw KeyError(part: part, rule: .badEscape(offset: bad.offset))
            }
        }
        let account = String(decoding: try decode(0, .account), as: UTF8.self)
        let resource = String(decoding: try decode(1, .resource), as: UTF8.self)
        let typeText = String(decoding: try decode(2, .type), as: UTF8.self)
        try Self.validateAccount(account)
        try Self.validateResource(resource)
        guard let type = ResourceType(rawValue: typeText) else {
            throw KeyError(part: .type, rule: .unknownType(typeText))
        }
        try self.init(
            account: account, resource: resource, type: type,
            primaryKey: try decode(3, .primaryKey),
            sortKey: parts.count == 5 ? try decode(4, .sortKey) : [])
    }

    /// The canonical text form; ``init(parsing:)`` of it gives back an equal key.
    public var text: String {
        var output = canonicalCollectionBytes
        if !sortKey.isEmpty {
            output.append(UInt8(ascii: "/"))
            PercentEscaping.escape(sortKey, into: &output)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes that are hashed into the pointer: the canonical (escaped) text of
    /// `account/resource/type/primaryKey`, UTF-8, without the sort key.
    public var canonicalCollectionBytes: [UInt8] {
        Self.canonicalCollectionBytes(account: account, resource: resource, type: type, primaryKey: primaryKey)
    }

    private static func canonicalCollectionBytes(
        account: String, resource: String, type: ResourceType, primaryKey: [UInt8]
    ) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(account.utf8.count + resource.utf8.count + primaryKey.count + 8)
        output.append(contentsOf: account.utf8)
        output.append(UInt8(ascii: "/"))
        output.append(contentsOf: resource.utf8)
        output.append(UInt8(ascii: "/"))
        output.append(contentsOf: type.rawValue.utf8)
        output.append(UInt8(ascii: "/"))
        PercentEscaping.escape(primaryKey, into: &output)
        return output
    }

    /// The escaped text of the primary key alone.
    public var primaryKeyText: String { PercentEscaping.escape(primaryKey) }
    /// The escaped text of the sort key alone (empty when there is none).
    public var sortKeyText: String { PercentEscaping.escape(sortKey) }

    // Equal pointers mean an equal collection but for a SHA-512 collision, so
    // the pointer is compared first and the parts only to rule that out.
    public static func == (lhs: Key, rhs: Key) -> Bool {
        lhs.pointer == rhs.pointer && lhs.sortKey == rhs.sortKey && lhs.primaryKey == rhs.primaryKey
            && lhs.type == rhs.type && lhs.resource == rhs.resource && lhs.account == rhs.account
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pointer)
        sortKey.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    // MARK: - Validation

    /// Checks an account name alone (what grants and access keys name).
    public static func validateAccount(_ account: String) throws(KeyError) {
        try validate(account, part: .account, in: accountLengthRange) { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-")
        }
    }

    private static func validateResource(_ resource: String) throws(KeyError) {
        try validate(resource, part: .resource, in: resourceLengthRange) { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }

    /// Checks an ASCII-alphabet part: the character check comes first so that a
    /// stray upper-case letter is named as such rather than as a length problem.
    private static func validate(
        _ text: String, part: KeyError.Part, in range: ClosedRange<Int>, allowed: (UInt8) -> Bool
    ) throws(KeyError) {
        var offset = 0
        for scalar in text.unicodeScalars {
            if !scalar.isASCII || !allowed(UInt8(scalar.value)) {
                throw KeyError(part: part, rule: .invalidCharacter(String(scalar), offset: offset))
            }
            offset += 1
        }
        let bytes = Array(text.utf8)
        try validateLength(of: bytes, part: part, in: range)
    }

    private static func validateLength(
        of bytes: [UInt8], part: KeyError.Part, in range: ClosedRange<Int>
    ) throws(KeyError) {
        if bytes.count < range.lowerBound {
            throw KeyError(part: part, rule: .tooShort(minimum: range.lowerBound, found: bytes.count))
        }
        if bytes.count > range.upperBound {
            throw KeyError(part: part, rule: .tooLong(maximum: range.upperBound, found: bytes.count))
        }
    }
}

extension Key: CustomStringConvertible {
    public var description: String { text }
}
