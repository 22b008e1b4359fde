/// A cell: every pointer whose first `depth` bits equal `prefix`.
///
/// Cells form a binary trie over the pointer space: a cell splits into its two
/// children by taking one more bit, and two siblings merge into their parent.
/// Depth is capped at 64 bits (2^64 cells), far beyond any real cluster.
///
/// Text form: `<depth>/<prefix in hex>`, the prefix right-aligned and padded
/// to `ceil(depth/4)` hex digits; the root is `0/`. Example: `12/5a3`.
public struct CellID: Hashable, Comparable, Sendable {
    public static let depthMaximum = 64

    /// Number of leading pointer bits that name this cell (0...64).
    public let depth: Int
    /// The first `depth` bits of every pointer in the cell, right-aligned.
    public let prefix: UInt64

    /// The root cell (depth 0) holds every pointer.
    public static let root = CellID(uncheckedDepth: 0, prefix: 0)

    /// `nil` when `depth` is outside 0...64 or `prefix` has bits beyond `depth`.
    public init?(depth: Int, prefix: UInt64) {
        guard (0...Self.depthMaximum).contains(depth) else { return nil }
        guard depth == 64 || prefix >> UInt64(depth) == 0 else { return nil }
        self.init(uncheckedDepth: depth, prefix: prefix)
    }

    private init(uncheckedDepth depth: Int, prefix: UInt64) {
        self.depth = depth
        self.prefix = prefix
    }

    /// The cell of depth `depth` that holds `pointer`. `depth` must be in 0...64.
    public init(containing pointer: Pointer, depth: Int) {
        precondition((0...Self.depthMaximum).contains(depth), "cell depth \(depth) outside 0...64")
        let prefix = depth == 0 ? 0 : pointer.leadingWord >> UInt64(64 - depth)
        self.init(uncheckedDepth: depth, prefix: prefix)
    }

    /// Parses the text form `<depth>/<hex prefix>`.
    public init?(text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let depth = Int(parts[0]) else { return nil }
        let prefix: UInt64
        if parts[1].isEmpty {
            guard depth == 0 else { return nil }
            prefix = 0
        } else {
            guard parts[1].count == (depth + 3) / 4, let value = UInt64(parts[1], radix: 16) else { return nil }
            prefix = value
        }
        self.init(depth: depth, prefix: prefix)
    }

    public func contains(_ pointer: Pointer) -> Bool {
        CellID(containing: pointer, depth: depth) == self
    }

    /// The two halves of this cell, `nil` at the maximum depth.
    public var children: (zero: CellID, one: CellID)? {
        guard depth < Self.depthMaximum else { return nil }
        return (
            CellID(uncheckedDepth: depth + 1, prefix: prefix << 1),
            CellID(uncheckedDepth: depth + 1, prefix: prefix << 1 | 1)
        )
    }

    /// The cell this one split from, `nil` for the root.
    public var parent: CellID? {
        guard depth > 0 else { return nil }
        return CellID(uncheckedDepth: depth - 1, prefix: prefix >> 1)
    }

    /// The other child of this cell's parent, `nil` for the root.
    public var sibling: CellID? {
        guard depth > 0 else { return nil }
        return CellID(uncheckedDepth: depth, prefix: prefix ^ 1)
    }

    /// Whether `other` is this cell or lies inside it.
    public func isAncestor(ofOrEqualTo other: CellID) -> Bool {
        guard other.depth >= depth else { return false }
        return depth == 0 || other.prefix >> UInt64(other.depth - depth) == prefix
    }

    /// The nine bytes that placement hashes: the depth, then the prefix as a
    /// big-endian 64-bit integer (right-aligned). See README "Placement".
    public var placementBytes: [UInt8] {
        var raw: [UInt8] = [UInt8(depth)]
        for shift in stride(from: 56, through: 0, by: -8) { raw.append(UInt8(truncatingIfNeeded: prefix >> UInt64(shift))) }
        return raw
    }

    public var text: String {
        guard depth > 0 else { return "0/" }
        let hex = String(prefix, radix: 16)
        let width = (depth + 3) / 4
        return "\(depth)/" + String(repeating: "0", count: max(0, width - hex.count)) + hex
    }

    /// Orders cells by depth, then prefix.
    public static func < (lhs: CellID, rhs: CellID) -> Bool {
        (lhs.depth, lhs.prefix) < (rhs.depth, rhs.prefix)
    }

    /// All `2^depth` cells of one depth, in prefix order. `depth` must be at most 32.
    public static func all(depth: Int) -> [CellID] {
        precondition((0...32).contains(depth), "enumerating cells beyond depth 32 is not supported")
        return (0..<(UInt64(1) << UInt64(depth))).map { CellID(uncheckedDepth: depth, prefix: $0) }
    }
}

extension CellID: CustomStringConvertible {
    public var description: String { text }
}
