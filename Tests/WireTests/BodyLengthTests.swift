import Testing
import Wire

/// The length prefix is judged before any of the body is buffered.
@Suite struct BodyLengthTests {
    @Test func lengthsTooShortForAVersionAndAKindAreRefused() {
        for prefix: UInt32 in [0, 1] {
            #expect(throws: WireError("frame length \(prefix) is too short for a version and a kind")) {
                try Frame.bodyLength(prefix: prefix)
            }
        }
    }

    @Test func lengthsAboveTheMaximumAreRefused() {
        let maximum = UInt32(Frame.lengthMaximum)
        for prefix in [maximum + 1, maximum * 2, UInt32.max] {
            #expect(throws: WireError("frame length \(prefix) exceeds the limit of \(Frame.lengthMaximum) bytes")) {
                try Frame.bodyLength(prefix: prefix)
            }
        }
    }

    @Test func lengthsFromTwoToTheMaximumAreAccepted() throws {
        #expect(Frame.lengthMaximum == 64 << 20)
        for prefix: UInt32 in [2, 3, 1_000, UInt32(Frame.lengthMaximum) - 1, UInt32(Frame.lengthMaximum)] {
            #expect(try Frame.bodyLength(prefix: prefix) == Int(prefix))
        }
    }
}
