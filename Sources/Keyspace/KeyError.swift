/// Why a key was rejected: the part at fault and the rule it broke.
public struct KeyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The part of `account/resource/type/primaryKey[/sortKey]` that is at fault.
    public enum Part: String, Sendable, Hashable, CaseIterable {
        case account, resource, type, primaryKey, sortKey
    }

    /// The rule that the part broke.
    public enum Rule: Sendable, Hashable {
        /// The text form ended before this part.
        case missing
        /// Shorter than the minimum length (in bytes; characters for account and resource).
        case tooShort(minimum: Int, found: Int)
        /// Longer than the maximum length.
        case tooLong(maximum: Int, found: Int)
        /// A character outside the part's alphabet, at a byte offset within the (unescaped) part.
        case invalidCharacter(String, offset: Int)
        /// A `%` not followed by two hex digits, at a byte offset within the escaped part.
        case badEscape(offset: Int)
        /// The type is neither `rnd` nor `lnr`.
        case unknownType(String)
        /// More than five `/`-separated parts: a `/` inside the sort key must be written `%2F`.
        case unescapedSlash
    }

    public let part: Part
    public let rule: Rule

    public init(part: Part, rule: Rule) {
        self.part = part
        self.rule = rule
    }

    public var description: String {
        let detail: String
        switch rule {
        case .missing:
            detail = "missing (a key is account/resource/type/primaryKey[/sortKey])"
        case .tooShort(let minimum, let found):
            detail = "too short: \(found) \(unit), at least \(minimum) required"
        case .tooLong(let maximum, let found):
            detail = "too long: \(found) \(unit), at most \(maximum) allowed"
        case .invalidCharacter(let character, let offset):
            detail = "invalid character \(character.debugDescription) at offset \(offset); \(alphabet)"
        case .badEscape(let offset):
            detail = "bad percent-escape at offset \(offset): '%' must be followed by two hex digits"
        case .unknownType(let found):
            detail = "unknown type \(found.debugDescription): must be 'rnd' or 'lnr'"
        case .unescapedSlash:
            detail = "contains an unescaped '/': write '/' inside a part as %2F"
        }
        return "invalid key: \(part.rawValue): \(detail)"
    }

    private var unit: String {
        switch part {
        case .account, .resource: "characters"
        default: "bytes"
        }
    }

    private var alphabet: String {
        switch part {
        case .account: "allowed are a-z, 0-9 and '-'"
        case .resource: "allowed are A-Z, a-z, 0-9, '_', '.' and '-'"
        default: "any byte is allowed when percent-escaped"
        }
    }
}
