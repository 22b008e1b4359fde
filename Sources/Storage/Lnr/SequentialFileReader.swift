/// Reads one stretch of a file front to back through a window of bounded size,
/// so that paging through or scrubbing an extent never holds more than one
/// window (or one record, if larger) in memory, yet makes few reads.
struct SequentialFileReader {
    private let file: StorageFile
    private let name: String
    /// The stretch ends here: its bytes never run into the next part of the file.
    private let end: Int
    private let windowBytes: Int
    private var window: [UInt8] = []
    private var windowStart: Int
    /// File offset of the next byte ``take(_:)`` returns.
    private(set) var position: Int

    init(file: StorageFile, name: String, start: Int, end: Int, windowBytes: Int) {
        self.file = file
        self.name = name
        self.end = end
        self.windowBytes = max(windowBytes, 1)
        windowStart = start
        position = start
    }

    /// The next `count` bytes. A length running past the stretch, or a file ending
    /// early, is corruption: lengths come from disk.
    mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= end - position else {
            throw ExtentError.corrupt(
                file: name, reason: "\(count) bytes at offset \(position) would run past offset \(end), where their part ends")
        }
        if position + count > windowStart + window.count {
            // The unread tail of the old window is read again: less than one record.
            window = try file.read(at: position, count: min(max(count, windowBytes), end - position))
            windowStart = position
            guard window.count >= count else {
                throw ExtentError.corrupt(
                    file: name, reason: "the file ends at offset \(position + window.count), inside bytes it should hold")
            }
        }
        let from = position - windowStart
        position += count
        return Array(window[from..<from + count])
    }
}
