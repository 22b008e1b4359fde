import TestSupport
import Testing
import Wire

/// A frame that fails to decode harms nothing: damaged or random bodies either
/// throw a ``WireError`` or decode to a frame whose encoding is exactly those
/// bytes (the encoding is canonical, so nothing decodes "almost").
@Suite(.cpuBound) struct MutationFuzzTests {
    @Test func damagedFramesAndRandomBodiesEitherThrowOrDecodeToAFrameThatReencodesToTheSameBytes() {
        var random = RandomFrames(seed: 0xF1_1B5)
        var refused = 0
        var decoded = 0
        var unstable: [String] = []
        for round in 0..<20_000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0, 1:
                bytes = random.frame().body
                for _ in 0...random.int(0...3) { random.mutate(&bytes) }
            case 2:
                bytes = Self.plausibleGarbage(&random)
            default:
                bytes = random.bytes(upTo: 40)
            }
            switch decode(bytes) {
            case .success(let frame):
                decoded += 1
                if frame.body != bytes { unstable.append("\(bytes) decoded as \(frame), which encodes as \(frame.body)") }
            case .failure(let error):
                refused += 1
                if error.reason.isEmpty { unstable.append("\(bytes) refused without a reason") }
            }
        }
        #expect(unstable.isEmpty, "\(unstable.count), first: \(unstable.prefix(3))")
        // Entries' checksums refuse most damaged cell messages: a few hundred still decode.
        #expect(refused > 10_000 && decoded > 500, "refused \(refused), decoded \(decoded)")
    }

    /// The right version, a known kind and the start of a real layout, then random bytes:
    /// gets past the header far more often than pure noise.
    static func plausibleGarbage(_ random: inout RandomFrames) -> [UInt8] {
        let kind = UInt8(random.int(1...6))
        var bytes = [Frame.version, kind]
        switch kind {
        case 2: bytes += [UInt8(random.int(0...2)), 0, 0, 0] + (0..<8).map { _ in random.byte() } + [UInt8(random.int(1...5))]
        case 4: bytes += (0..<8).map { _ in random.byte() } + [UInt8(random.int(1...5))]
        case 5: bytes += (0..<8).map { _ in random.byte() } + [UInt8(random.int(1...8))]
        case 6: bytes += [UInt8(random.int(1...3))]
        default: bytes += [UInt8(random.int(0...2))]
        }
        // Small numbers decode as short lengths and counts more often than noise does.
        return bytes + (0..<random.int(0...48)).map { _ in random.int(0...1) == 0 ? UInt8(random.int(0...3)) : random.byte() }
    }
}
