import CCRC32C

/// CRC-32C (Castagnoli), the checksum of every record and page on disk.
///
/// With the CPU's instruction where it has one (SSE 4.2, ARMv8 CRC), else
/// slice-by-8 in software (about 1.5 GB/s: under large writes, a fifth of a
/// node's CPU).
public enum CRC32C {
    /// Whether checksums use the CPU's CRC-32C instruction.
    public static let usesHardware = tessera_crc32c_hardware_available() == 1

    private static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for index in 0..<256 {
            var crc = UInt32(index)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[0][index] = crc
        }
        for index in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[slice - 1][index]
                tables[slice][index] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// `seed` continues a checksum: checksum(b, seed: checksum(a)) == checksum(a + b).
    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    public static func checksum(_ buffer: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard usesHardware else { return softwareChecksum(buffer, seed: seed) }
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return seed }
        return ~tessera_crc32c_hardware_update(~seed, base.assumingMemoryBound(to: UInt8.self), buffer.count)
    }

    /// The table-driven checksum, whatever the CPU has: the reference the hardware one is tested against.
    public static func softwareChecksum(_ buffer: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        var offset = 0
        let count = buffer.count
        tables.withUnsafeBufferPointer { tables in
            let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
            let t4 = tables[4], t5 = tables[5], t6 = tables[6], t7 = tables[7]
            while offset + 8 <= count {
                let word = buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = t7[Int(low & 0xFF)] ^ t6[Int((low >> 8) & 0xFF)] ^ t5[Int((low >> 16) & 0xFF)]
                    ^ t4[Int(low >> 24)] ^ t3[Int(high & 0xFF)] ^ t2[Int((high >> 8) & 0xFF)]
                    ^ t1[Int((high >> 16) & 0xFF)] ^ t0[Int(high >> 24)]
                offset += 8
            }
            while offset < count {
                crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(buffer[offset])) & 0xFF)]
                offset += 1
            }
        }
        return ~crc
    }
}
