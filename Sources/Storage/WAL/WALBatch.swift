import Keyspace

/// One WAL record: the effects of one atomic batch, already decided (conditions
/// were checked before the record was written), so replay is deterministic,
/// and the changes to replicated logs made durable with them.
struct WALBatch: Equatable {
    enum Effect: Equatable {
        /// `collection` names the collection (see ``ItemCollection``); `version` is the item's new version.
        case put(pointer: Pointer, collection: [UInt8], sortKey: [UInt8], value: [UInt8], version: UInt64)
        case delete(pointer: Pointer, sortKey: [UInt8])

        var pointer: Pointer {
            switch self {
            case .put(let pointer, _, _, _, _), .delete(let pointer, _): pointer
            }
        }

        var sortKey: [UInt8] {
            switch self {
            case .put(_, _, let sortKey, _, _), .delete(_, let sortKey): sortKey
            }
        }
    }

    /// The sequence number of the first effect; effect i has `firstSequence + i`
    /// (the version a client write gives its item; a group commit's writes carry
    /// their owner's versions).
    var firstSequence: UInt64
    var effects: [Effect]
    var logChanges: [LogChange] = []

    /// Every record takes at least one sequence number, so that its durability
    /// can be waited for: a record of log changes alone takes one no item uses.
    var lastSequence: UInt64 { firstSequence + UInt64(max(effects.count, 1)) - 1 }
}

/// The framing of WAL records:
///
///     u32 magic "TWAL" | u32 payload length | u32 CRC-32C of (length, payload)
///     | u32 CRC-32C of the 12 bytes before it | payload
///
/// The header's own checksum tells a damaged length (corruption) from a record
/// cut short by a crash (a torn tail), which recovery treats differently.
///     payload = u64 first sequence | u32 effect count | effects | u32 log change count | log changes
///     effect  = u8 kind (1 put, 2 delete) | 64-byte pointer | u16 sort-key length | sort key
///               | (put only) u64 version | u16 collection-name length | name | u32 value length | value
///     log change = u64 log | u8 truncation (0 none, 1 compact, 2 reset) | (1, 2 only) u64 index
///               | u8 has state | (1 only) u32 length | state | u32 entry count | entries
///     entry   = u64 index | u32 header length | header | u32 body length | body
///
/// Integers are little-endian. Format 1 ("TWAL") had no log changes; its
/// records are not read (the superblock's format version says why).
enum WALRecordFormat {
    static let magic: UInt32 = 0x324C_5754  // "TWL2" read as little-endian bytes
    static let headerBytes = 16
    /// Bigger than any record a node writes (a group commit carries at most a
    /// few snapshots of 64 MiB beside its entries), so a longer length is corruption.
    static let payloadBytesMaximum = 1 << 30

    /// Frames `batch` at the end of `output`: the payload goes there directly and
    /// the header is patched in front of it once the payload's length and checksum are known.
    static func encode(_ batch: WALBatch, into output: inout [UInt8]) {
        var payloadBytes = 16
        for change in batch.logChanges {
            payloadBytes += 8 + 1 + 8 + 1 + 4 + (change.state?.count ?? 0) + 4
            for entry in change.entries { payloadBytes += 16 + entry.byteCount }
        }
        for effect in batch.effects {
            switch effect {
            case .put(_, let collection, let sortKey, let value, _):
                payloadBytes += 1 + Pointer.byteCount + 2 + sortKey.count + 8 + 2 + collection.count + 4 + value.count
            case .delete(_, let sortKey): payloadBytes += 1 + Pointer.byteCount + 2 + sortKey.count
            }
        }
        let headerStart = output.count
        output.reserveCapacity(headerStart + headerBytes + payloadBytes)
        output.append(contentsOf: repeatElement(0, count: headerBytes))
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) } }
        append(batch.firstSequence)
        append(UInt32(batch.effects.count))
        for effect in batch.effects {
            switch effect {
            case .put(let pointer, let collection, let sortKey, let value, let version):
                output.append(1)
                pointer.appendBytes(to: &output)
                append(UInt16(sortKey.count))
                output.append(contentsOf: sortKey)
                append(version)
                append(UInt16(collection.count))
                output.append(contentsOf: collection)
                append(UInt32(value.count))
                output.append(contentsOf: value)
            case .delete(let pointer, let sortKey):
                output.append(2)
                pointer.appendBytes(to: &output)
                append(UInt16(sortKey.count))
                output.append(contentsOf: sortKey)
            }
        }
        append(UInt32(batch.logChanges.count))
        for change in batch.logChanges {
            append(change.log)
            switch change.truncation {
            case .none: output.append(0)
            case .compact(let through):
                output.append(1)
                append(through)
            case .reset(let after):
                output.append(2)
                append(after)
            }
            if let state = change.state {
                output.append(1)
                append(UInt32(state.count))
                output.append(contentsOf: state)
            } else {
                output.append(0)
            }
            append(UInt32(change.entries.count))
            for entry in change.entries {
                append(entry.index)
                append(UInt32(entry.header.count))
                output.append(contentsOf: entry.header)
                append(UInt32(entry.body.count))
                output.append(contentsOf: entry.body)
            }
        }
        precondition(output.count - headerStart - headerBytes <= payloadBytesMaximum, "a WAL record over its maximum")
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
            let count = Int(try payload.readUInt32())
            // Each effect takes at least 67 bytes: a larger count is not this record's.
            guard count <= payload.remaining / 67 else { return .invalid("record claims \(count) effects") }
            var effects: [WALBatch.Effect] = []
            effects.reserveCapacity(count)
            for _ in 0..<count {
                let kind = try payload.readUInt8()
                guard let pointer = Pointer(bytes: try payload.readBytes(Pointer.byteCount)) else { throw .init() }
                let sortKey = try payload.readBytes(Int(try payload.readUInt16()))
                switch kind {
                case 1:
                    let version = try payload.readUInt64()
                    let collection = try payload.readBytes(Int(try payload.readUInt16()))
                    effects.append(.put(pointer: pointer, collection: collection, sortKey: sortKey,
                                        value: try payload.readBytes(Int(try payload.readUInt32())), version: version))
                case 2: effects.append(.delete(pointer: pointer, sortKey: sortKey))
                default: return .invalid("unknown effect kind \(kind)")
                }
            }
            let changeCount = Int(try payload.readUInt32())
            guard changeCount <= payload.remaining / 14 else { return .invalid("record claims \(changeCount) log changes") }
            var changes: [LogChange] = []
            changes.reserveCapacity(changeCount)
            for _ in 0..<changeCount {
                switch try readLogChange(&payload) {
                case .success(let change): changes.append(change)
                case .failure(let reason): return .invalid(reason.description)
                }
            }
            guard payload.remaining == 0, count > 0 || changeCount > 0 else { return .invalid("record payload has a bad shape") }
            return .record(WALBatch(firstSequence: firstSequence, effects: effects, logChanges: changes), end: payloadEnd)
        } catch {
            return .invalid("record payload is truncated")
        }
    }
}

extension WALRecordFormat {
    struct BadLogChange: Error, CustomStringConvertible {
        let description: String
    }

    static func readLogChange(_ payload: inout ByteReader) throws(ByteReader.Truncated) -> Result<LogChange, BadLogChange> {
        var change = LogChange(log: try payload.readUInt64())
        switch try payload.readUInt8() {
        case 0: break
        case 1: change.truncation = .compact(through: try payload.readUInt64())
        case 2: change.truncation = .reset(after: try payload.readUInt64())
        case let kind: return .failure(BadLogChange(description: "unknown log truncation \(kind)"))
        }
        switch try payload.readUInt8() {
        case 0: break
        case 1: change.state = try payload.readBytes(Int(try payload.readUInt32()))
        case let flag: return .failure(BadLogChange(description: "log state flag \(flag) is neither 0 nor 1"))
        }
        let entryCount = Int(try payload.readUInt32())
        guard entryCount <= payload.remaining / 16 else {
            return .failure(BadLogChange(description: "log \(change.log) claims \(entryCount) entries"))
        }
        change.entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount {
            let index = try payload.readUInt64()
            let header = try payload.readBytes(Int(try payload.readUInt32()))
            let body = try payload.readBytes(Int(try payload.readUInt32()))
            change.entries.append(StoredLogEntry(index: index, header: header, body: body))
        }
        return .success(change)
    }
}
