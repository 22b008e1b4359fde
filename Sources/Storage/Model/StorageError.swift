/// What can go wrong in the storage engine, each naming the part at fault.
public enum StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A value larger than ``StorageLimits/valueBytesMaximum``.
    case valueTooLarge(bytes: Int, limit: Int)
    /// Only `rnd` resources are stored here; queues (`lnr`) have their own engine.
    case unsupportedResourceType(String)
    /// A batch with no writes, too many, or two writes to the same item.
    case invalidBatch(String)
    /// A continuation token that this engine did not produce.
    case invalidContinuationToken
    /// Bytes on disk failed their checksum or do not parse: never returned as data.
    case corruption(file: String, location: String, reason: String)
    /// The files were written by a Tessera whose on-disk format this one does not read.
    case unsupportedFormat(file: String, found: UInt32, supported: UInt32)
    /// The operating system refused an operation.
    case io(file: String, operation: String, errno: Int32)
    /// The data directory is in use by another process.
    case locked(path: String)
    /// The store was closed, or an earlier I/O failure made it stop accepting writes.
    case closed(reason: String)
    /// Raised by the simulated disk at its planned crash point (tests only).
    case simulatedCrash

    public var description: String {
        switch self {
        case .valueTooLarge(let bytes, let limit):
            "value too large: \(bytes) bytes, at most \(limit) allowed"
        case .unsupportedResourceType(let type):
            "resource type '\(type)' is not stored by the rnd engine: use an 'rnd' key"
        case .invalidBatch(let reason):
            "invalid batch: \(reason)"
        case .invalidContinuationToken:
            "invalid continuation token: pass back the token a previous query returned"
        case .corruption(let file, let location, let reason):
            "corrupt data in \(file) at \(location): \(reason)"
        case .unsupportedFormat(let file, let found, let supported):
            "\(file) has on-disk format \(found); this Tessera reads format \(supported) only"
                + " (see the README's \"Upgrading\" section: a node's data is replicated, so an older"
                + " node folder is replaced by an empty one that catches up from its peers)"
        case .io(let file, let operation, let errno):
            "I/O error: \(operation) \(file) failed with errno \(errno) (\(errnoDescription(errno)))"
        case .locked(let path):
            "data directory \(path) is in use by another process"
        case .closed(let reason):
            "store is closed: \(reason)"
        case .simulatedCrash:
            "simulated crash"
        }
    }
}

/// Fixed limits of the rnd engine.
public enum StorageLimits {
    /// DynamoDB's item limit: one value may span about 100 pages.
    public static let valueBytesMaximum = 400 * 1024
    /// Writes in one atomic batch (DynamoDB's TransactWriteItems allows 100).
    public static let batchWritesMaximum = 100
}
