/// XXH64 (xxHash, 64-bit), the stable hash that placement is specified with.
///
/// Chosen because it is fast, platform-independent (little-endian lanes on
/// every platform) and implemented in every language a client may be written in.
public enum XXH64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    public static func hash(_ input: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let length = input.count
        var offset = 0
        var accumulator: UInt64
        if length >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while offset + 32 <= length {
                v1 = round(v1, lane(input, offset))
                v2 = round(v2, lane(input, offset + 8))
                v3 = round(v3, lane(input, offset + 16))
                v4 = round(v4, lane(input, offset + 24))
                offset += 32
            }
            accumulator = rotateLeft(v1, 1) &+ rotateLeft(v2, 7) &+ rotateLeft(v3, 12) &+ rotateLeft(v4, 18)
            accumulator = merge(accumulator, v1)
            accumulator = merge(accumulator, v2)
            accumulator = merge(accumulator, v3)
            accumulator = merge(accumulator, v4)
        } else {
            accumulator = seed &+ prime5
        }
        accumulator = accumulator &+ UInt64(length)
        while offset + 8 <= length {
            accumulator ^= round(0, lane(input, offset))
            accumulator = rotateLeft(accumulator, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= length {
            let word = UInt64(input.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
            accumulator ^= word &* prime1
            accumulator = rotateLeft(accumulator, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < length {
            accumulator ^= UInt64(input[offset]) &* prime5
            accumulator = rotateLeft(accumulator, 11) &* prime1
            offset += 1
        }
        return avalanche(accumulator)
    }

    /// The 64-bit finalizer of MurmurHash3 (`fmix64`), used to mix two hashes.
    @inline(__always)
    public static func fmix64(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x = x &* 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x
    }

    @inline(__always)
    private static func lane(_ input: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        input.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        rotateLeft(accumulator &+ lane &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func merge(_ accumulator: UInt64, _ value: UInt64) -> UInt64 {
        (accumulator ^ round(0, value)) &* prime1 &+ prime4
    }

    @inline(__always)
    private static func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }

    @inline(__always)
    private static func avalanche(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x = x &* prime2
        x ^= x >> 29
        x = x &* prime3
        x ^= x >> 32
        return x
    }
}
