import Storage
import TestSupport
import Testing

/// The checksum on disk must not depend on the CPU that wrote it: the
/// hardware path and the software table agree on every length and alignment.
@Suite struct CRC32CTests {
    @Test func knownValues() {
        // The standard check value of CRC-32C (RFC 3720, appendix B.4).
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([], seed: 0x1234_5678) == 0x1234_5678)
    }

    @Test func hardwareMatchesSoftwareAtEveryLengthAndAlignment() {
        var random = SplitMix64(seed: 0x5EED)
        let bytes = ExtentTests.randomBytes(4_096 + 16, &random)
        bytes.withUnsafeBytes { all in
            for offset in 0..<8 {
                for count in [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 256, 1_000, 4_096] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)])
                    for seed: UInt32 in [0, 0xDEAD_BEEF] {
                        #expect(CRC32C.checksum(slice, seed: seed) == CRC32C.softwareChecksum(slice, seed: seed),
                                "offset \(offset), \(count) bytes, seed \(seed)")
                    }
                }
            }
        }
    }

    @Test func continuingEqualsWhole() {
        var random = SplitMix64(seed: 7)
        let bytes = ExtentTests.randomBytes(1 << 20, &random)
        let whole = CRC32C.checksum(bytes)
        for cut in [0, 1, 4_095, 1 << 19, (1 << 20) - 3, 1 << 20] {
            let first = CRC32C.checksum(Array(bytes[..<cut]))
            #expect(CRC32C.checksum(Array(bytes[cut...]), seed: first) == whole, "cut at \(cut)")
        }
        bytes.withUnsafeBytes { #expect(CRC32C.softwareChecksum($0) == whole) }
    }
}
