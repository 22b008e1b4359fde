import Testing
import Wire

/// A frame body cut anywhere is refused, and the refusal says it was cut short.
@Suite struct TruncationTests {
    @Test func everyTruncationOfEveryRandomFrameThrowsAWireErrorThatSaysItRanOut() {
        var random = RandomFrames(seed: 0x7_2C_A7E)
        var decodedPrefixes: [String] = []
        var unclearReasons: [String] = []
        var truncations = 0
        for _ in 0..<600 {
            let frame = random.frame()
            let body = frame.body
            for length in 0..<body.count {
                truncations += 1
                switch decode(Array(body[..<length])) {
                case .success(let decoded):
                    // Decoding reads a prefix exactly as it reads the whole body, so no prefix of a valid body can decode.
                    decodedPrefixes.append("\(length) of \(body.count) bytes of \(frame) decoded as \(decoded)")
                case .failure(let error):
                    // The bytes ran out: a read past the end or a count or length larger than what is left.
                    if !error.reason.hasPrefix("truncated "), !error.reason.contains(" announced") {
                        unclearReasons.append("\(length) of \(body.count) bytes of \(frame): \(error.reason)")
                    }
                }
            }
        }
        #expect(truncations > 20_000)
        #expect(decodedPrefixes.isEmpty, "\(decodedPrefixes.count), first: \(decodedPrefixes.prefix(3))")
        #expect(unclearReasons.isEmpty, "\(unclearReasons.count), first: \(unclearReasons.prefix(3))")
    }

    @Test func oneMoreByteIsTrailingGarbage() {
        var random = RandomFrames(seed: 0x7_2A_11)
        for _ in 0..<500 {
            let frame = random.frame()
            guard case .failure(let error) = decode(frame.body + [random.byte()]) else {
                Issue.record("\(frame) with a trailing byte decoded")
                continue
            }
            #expect(error.reason.hasPrefix("1 trailing byte") && error.reason.hasSuffix(" frame"), "\(error.reason)")
        }
        #expect(throws: WireError("3 trailing bytes after heartbeat frame")) { try Frame(body: body(kind: 3) + [0, 0, 0]) }
    }
}
