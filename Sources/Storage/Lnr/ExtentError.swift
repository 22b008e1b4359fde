/// What can go wrong with a queue extent. Corruption is always reported, never
/// returned as data; the other cases are a caller's request the format cannot hold.
public enum ExtentError: Error, CustomStringConvertible, Equatable, Hashable, Sendable {
    /// A checksum mismatch, a bad magic, a truncated file, or a record that is not the one expected.
    case corrupt(file: String, reason: String)
    /// A seq this extent does not hold.
    case seqOutOfRange(file: String, seq: UInt64, first: UInt64, last: UInt64)
    /// One payload over ``ExtentFormat/entryBytesMaximum``, or an extent over ``ExtentFormat/payloadBytesMaximum``.
    case tooLarge(bytes: Int, limit: Int)
    /// An extent over ``ExtentFormat/entryCountMaximum`` entries (many tiny payloads).
    case tooManyEntries(count: Int, limit: Int)
    /// Seqs in an extent are dense: each append must carry the one after the last.
    case notSequential(expected: UInt64, got: UInt64)
    /// An extent holds at least one entry: a writer with none is abandoned, not finished.
    case empty(file: String)
    /// The extent's file is not in the directory.
    case missing(file: String)

    public var description: String {
        switch self {
        case .corrupt(let file, let reason):
            "Extent file \(file) is corrupt: \(reason)."
        case .seqOutOfRange(let file, let seq, let first, let last):
            "Extent file \(file) holds seqs \(first) to \(last), not seq \(seq)."
        case .tooLarge(let bytes, let limit):
            "\(bytes) payload bytes are too many for one extent entry or extent: at most \(limit) are allowed."
        case .tooManyEntries(let count, let limit):
            "An extent of \(count) entries has too many: at most \(limit) are allowed."
        case .notSequential(let expected, let got):
            "Extent entries must have consecutive seqs: expected seq \(expected), got \(got)."
        case .empty(let file):
            "Extent file \(file) would hold no entries: abandon an empty writer instead of finishing it."
        case .missing(let file):
            "Extent file \(file) does not exist."
        }
    }
}
