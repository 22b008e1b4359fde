import Crypto

/// A 512-bit address in the global memory: the SHA-512 of a key's canonical
/// `account/resource/type/primaryKey` bytes (see ``Key/canonicalCollectionBytes``).
///
/// Stored as eight big-endian 64-bit words so that prefixes (cells) are cheap
/// and ordering is the ordering of the bytes.
public struct Pointer: Hashable, Comparable, Sendable {
    public static let byteCount = 64

    // Word 0 holds bytes 0..<8 (the most significant bits), word 7 bytes 56..<64.
    private var w0, w1, w2, w3, w4, w5, w6, w7: UInt64

    /// SHA-512 of `bytes`.
    public init(hashing bytes: [UInt8]) {
        let digest = SHA512.hash(data: bytes)
        var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        digest.withUnsafeBytes { raw in
            func word(_ index: Int) -> UInt64 {
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
            }
            words = (word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7))
        }
        (w0, w1, w2, w3, w4, w5, w6, w7) = words
    }

    /// A pointer from its 64 bytes; `nil` if `bytes` is not exactly 64 long.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.init(uncheckedBytes: Array(bytes))
    }

    /// A pointer from 128 hex digits (either case); `nil` otherwise.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == Self.byteCount * 2, let raw = Hex.decode(digits[...]) else { return nil }
        self.init(uncheckedBytes: raw)
    }

    private init(uncheckedBytes raw: [UInt8]) {
        func word(_ index: Int) -> UInt64 {
            var value: UInt64 = 0
            for byte in raw[index * 8..<index * 8 + 8] { value = value << 8 | UInt64(byte) }
            return value
        }
        (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3))
        (w4, w5, w6, w7) = (word(4), word(5), word(6), word(7))
    }

    /// The eight 64-bit words, most significant first.
    public var words: [UInt64] { [w0, w1, w2, w3, w4, w5, w6, w7] }

    /// The 64 bytes, most significant first.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: bigEndianWords) { Array($0) }
    }

    /// Appends the 64 bytes, most significant first, without an array of their own
    /// (the WAL writes a pointer per record effect).
    public func appendBytes(to output: inout [UInt8]) {
        withUnsafeBytes(of: bigEndianWords) { output.append(contentsOf: $0) }
    }

    private var bigEndianWords: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) {
        (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian, w4.bigEndian, w5.bigEndian, w6.bigEndian, w7.bigEndian)
    }

    /// The first 64 bits; cells are prefixes of at most this many bits.
    public var leadingWord: UInt64 { w0 }

    /// 128 lower-case hex digits.
    public var hex: String { Hex.encode(bytes) }

    public static func < (lhs: Pointer, rhs: Pointer) -> Bool {
        if lhs.w0 != rhs.w0 { return lhs.w0 < rhs.w0 }
        if lhs.w1 != rhs.w1 { return lhs.w1 < rhs.w1 }
        if lhs.w2 != rhs.w2 { return lhs.w2 < rhs.w2 }
        if lhs.w3 != rhs.w3 { return lhs.w3 < rhs.w3 }
        if lhs.w4 != rhs.w4 { return lhs.w4 < rhs.w4 }
        if lhs.w5 != rhs.w5 { return lhs.w5 < rhs.w5 }
        if lhs.w6 != rhs.w6 { return lhs.w6 < rhs.w6 }
        return lhs.w7 < rhs.w7
    }
}

extension Pointer: CustomStringConvertible {
    public var description: String { hex }
}
