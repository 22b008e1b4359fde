/// Bounds on what the reply decoder accepts, so that a hostile or broken
/// server can neither make it allocate without limit nor recurse deeply.
public struct RESPLimits: Sendable, Hashable {
    /// The longest bulk string, in bytes. Redis's own `proto-max-bulk-len` default is 512 MiB.
    public var maxBulkBytes: Int
    /// The longest simple-string or error line, CRLF excluded. Redis's error lines are short.
    public var maxLineBytes: Int
    /// The most elements one array may declare.
    public var maxArrayElements: Int
    /// How many arrays may be open inside each other. RESP2 replies nest two or three deep.
    public var maxNesting: Int

    public init(
        maxBulkBytes: Int = 512 * 1024 * 1024, maxLineBytes: Int = 64 * 1024,
        maxArrayElements: Int = 1 << 24, maxNesting: Int = 32
    ) {
        self.maxBulkBytes = maxBulkBytes
        self.maxLineBytes = maxLineBytes
        self.maxArrayElements = maxArrayElements
        self.maxNesting = maxNesting
    }
}
