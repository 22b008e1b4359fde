import Keyspace

/// One WAL record: the effects of one atomic batch, already decided (conditions
/// were checked before the record was written), so replay is deterministic.
struct WALBatch: Equatable {
    enum Effect: Equatable {
        case put(pointer: Pointer, sortKey: [UInt8], value: [UInt8])
        case delete(pointer: Pointer, sortKey: [UInt8])

        var pointer: Pointer {
            switch self {
            case .put(let pointer, _, _), .delete(let pointer, _): pointer
            }
        }

        var sortKey: [UInt8] {
            switch self {
            case .put(_, let sortKey, _), .delete(_, let sortKey): sortKey
            }
        }
    }

    /// The sequence number of the first effect; effect i has `firstSequence + i`,
    /// which is also the version it gives its item.
    var firstSequence: UInt64
    var effects: [Effect]

    var lastSequence: UInt64 { firstSequence + UInt64(effects.count) - 1 }
}

/// The framing of WAL records:
///
///     u32 magic "TWAL" | u32 payload length | u32 CRC-32C of (length, payload)
///     | u32 CRC-32C of the 12 bytes before it | payload
///
/// The header's own checksum tells a damaged length (corruption) from a record
/// cut short by a crash (a torn tail), which recovery treats differently.
///     payload = u64 first sequence | u16 effect count | effects
///     effect  = u8 kind (1 put, 2 delete) | 64-byte pointer | u16 sort-key length | sort key
///               | (put only) u32 value length | value
///
/// Integers are little-endian.
enum WALRecordFormat {
    static let magic: UInt32 = 0x4C41_5754  // "TWAL" read as little-endian bytes
    static let headerBytes = 16
    /// Bigger than any legal batch (100 writes of 400 KiB plus keys), so a longer length is corruption.
    static let payloadBytesMaximum = 64 * 1024 * 1024

    /// Frames `batch` at the end of `output`: the payload goes there directly and
    /// the header is patched in front of it once the payload's length and checksum are known.
    static func encode(_ batch: WALBatch, into output: inout [UInt8]) {
        var payloadBytes = 10
        for effect in batch.effects {
            switch effect {
            case .put(_, let sortKey, let value): payloadBytes += 1 + Pointer.byteCount + 2 + sortKey.count + 4 + value.count
            case .delete(_, let sortKey): payloadBytes += 1 + Pointer.byteCount + 2 + sortKey.count
            }
        }
        let headerStart = output.count
        output.reserveCapacity(headerStart + headerBytes + payloadBytes)
        output.append(contentsOf: repeatElement(0, count: headerBytes))
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) } }
        append(batch.firstSequence)
        append(UInt16(batch.effects.count))
        for effect in batch.effects {
            switch effect {
            case .put(let pointer, let sortKey, let value):
                output.append(1)
                pointer.appendBytes(to: &output)
                append(UInt16(sortKey.count))
                output.append(contentsOf: sortKey)
                append(UInt32(value.count))
                output.append(contentsOf: value)
            case .delete(let pointer, let sortKey):
                output.append(2)
                pointer.appendBytes(to: &output)
                append(UInt16(sortKey.count))
                output.append(contentsOf: sortKey)
            }
        }
        let length = UInt32(output.count - headerStart - headerBytes)
        var header = ByteWriter(capacity: headerBytes)
        header.append(magic)
        header.append(length)
        header.append(checksum(length: length, payload: output[(headerStart + headerBytes)...]))
        header.append(CRC32C.checksum(header.bytes))
        output.replaceSubrange(headerStart..<(headerStart + headerBytes), with: header.bytes)
    }

    static func checksum(length: UInt32, payload: ArraySlice<UInt8>) -> UInt32 {
        let lengthCRC = withUnsafeBytes(of: length.littleEndian) { CRC32C.checksum($0) }
        return payload.withUnsafeBytes { CRC32C.checksum($0, seed: lengthCRC) }
    }

    enum Parse {
        case record(WALBatch, end: Int)
        /// Not a whole, valid record at this offset (torn, zeroed or corrupt).
        case invalid(String)
        case endOfData
    }

    /// Parses the record at `offset` of a segment's bytes.
    static func parse(_ bytes: [UInt8], at offset: Int) -> Parse {
        if offset >= bytes.count { return .endOfData }
        var reader = ByteReader(bytes, offset: offset)
        guard let magicFound = try? reader.readUInt32(), let length = try? reader.readUInt32(),
            let storedCRC = try? reader.readUInt32(), let headerCRC = try? reader.readUInt32()
        else { return .invalid("truncated record header") }
        if magicFound == 0 && length == 0 && storedCRC == 0 && headerCRC == 0 { return .invalid("zeroed bytes") }
        guard magicFound == magic else { return .invalid("bad record magic") }
        guard CRC32C.checksum(bytes[offset..<offset + 12]) == headerCRC else { return .invalid("record header checksum mismatch") }
        guard Int(length) <= payloadBytesMaximum, Int(length) <= reader.remaining else {
            return .invalid("record length \(length) runs past the end of the segment")
        }
        let payloadStart = reader.offset
        let payloadEnd = payloadStart + Int(length)
        guard checksum(length: length, payload: bytes[payloadStart..<payloadEnd]) == storedCRC else {
            return .invalid("record checksum mismatch")
        }
        do throws(ByteReader.Truncated) {
            var payload = ByteReader(bytes, offset: payloadStart, end: payloadEnd)
            let firstSequence = try payload.readUInt64()
            let count = Int(try payload.readUInt16())
            var effects: [WALBatch.Effect] = []
            effects.reserveCapacity(count)
            for _ in 0..<count {
                let kind = try payload.readUInt8()
                guard let pointer = Pointer(bytes: try payload.readBytes(Pointer.byteCount)) else { throw .init() }
                let sortKey = try payload.readBytes(Int(try payload.readUInt16()))
                switch kind {
                case 1: effects.append(.put(pointer: pointer, sortKey: sortKey, value: try payload.readBytes(Int(try payload.readUInt32()))))
                case 2: effects.append(.delete(pointer: pointer, sortKey: sortKey))
                default: return .invalid("unknown effect kind \(kind)")
                }
            }
            guard payload.remaining == 0, count > 0 else { return .invalid("record payload has a bad shape") }
            return .record(WALBatch(firstSequence: firstSequence, effects: effects), end: payloadEnd)
        } catch {
            return .invalid("record payload is truncated")
        }
    }
}
