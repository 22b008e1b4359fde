import Keyspace
import TestSupport
import Testing

struct KeyTests {
    @Test func pointerIsSHA512OfTheCollectionWithoutSortKey() throws {
        let key = try Key(parsing: "acme/users/rnd/alice/v1")
        // sha512("acme/users/rnd/alice"), computed with sha512sum.
        #expect(key.pointer.hex.hasPrefix("2fdffc5d0d4ebab18415d83ca01e1066"))
        #expect(try Key(parsing: "acme/users/rnd/alice/v2").pointer == key.pointer)
        #expect(try Key(parsing: "acme/users/rnd/alicf").pointer != key.pointer)
        #expect(try Key(parsing: "acme/users/lnr/alice").pointer != key.pointer)
    }

    @Test func errorsNameThePartAndTheRule() {
        #expect(throws: KeyError(part: .account, rule: .invalidCharacter("A", offset: 0))) {
            try Key(parsing: "Acme/users/rnd/alice")
        }
        #expect(throws: KeyError(part: .resource, rule: .tooShort(minimum: 3, found: 2))) {
            try Key(parsing: "acme/us/rnd/alice")
        }
        #expect(throws: KeyError(part: .type, rule: .unknownType("RND"))) {
            try Key(parsing: "acme/users/RND/alice")
        }
        #expect(throws: KeyError(part: .primaryKey, rule: .missing)) {
            try Key(parsing: "acme/users/rnd")
        }
        #expect(throws: KeyError(part: .primaryKey, rule: .badEscape(offset: 2))) {
            try Key(parsing: "acme/users/rnd/al%g1")
        }
        #expect(throws: KeyError(part: .sortKey, rule: .unescapedSlash)) {
            try Key(parsing: "acme/users/rnd/alice/a/b")
        }
        let message = KeyError(part: .account, rule: .invalidCharacter("A", offset: 0)).description
        #expect(message.contains("account") && message.contains("a-z"))
    }

    @Test func limitsAreInclusive() throws {
        _ = try Key(account: String(repeating: "a", count: 64), resource: "abc", type: .rnd, primaryKey: [1])
        _ = try Key(account: "a", resource: String(repeating: "R", count: 255), type: .rnd,
                    primaryKey: [UInt8](repeating: 0, count: 2048), sortKey: [UInt8](repeating: 0, count: 1024))
        #expect(throws: KeyError.self) {
            try Key(account: "a", resource: "abc", type: .rnd, primaryKey: [UInt8](repeating: 0, count: 2049))
        }
        #expect(throws: KeyError(part: .sortKey, rule: .tooLong(maximum: 1024, found: 1025))) {
            try Key(account: "a", resource: "abc", type: .rnd, primaryKey: [1], sortKey: [UInt8](repeating: 0, count: 1025))
        }
    }

    @Test func everyKeyRoundTripsThroughItsTextForm() throws {
        var random = SplitMix64(seed: 7)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-".utf8)
        let resourceAlphabet = Array("ABCxyz019_.-".utf8)
        for _ in 0..<5_000 {
            let account = String(decoding: (0..<random.int(1...64)).map { _ in alphabet[random.int(0..<alphabet.count)] }, as: UTF8.self)
            let resource = String(decoding: (0..<random.int(3...40)).map { _ in resourceAlphabet[random.int(0..<resourceAlphabet.count)] }, as: UTF8.self)
            // Bytes biased towards the ones that need escaping.
            func bytes(_ count: Int) -> [UInt8] {
                (0..<count).map { _ in
                    random.int(0..<4) == 0 ? [UInt8(ascii: "/"), UInt8(ascii: "%"), 0, 0xC3, 0xA9, 0xFF, 0x7F][random.int(0..<7)]
                        : UInt8(truncatingIfNeeded: random.next())
                }
            }
            let key = try Key(
                account: account, resource: resource, type: random.int(0..<2) == 0 ? .rnd : .lnr,
                primaryKey: bytes(random.int(1...40)), sortKey: bytes(random.int(0...20)))
            let parsed = try Key(parsing: key.text)
            #expect(parsed == key)
            #expect(parsed.text == key.text)
            #expect(parsed.pointer == key.pointer)
        }
    }

    @Test func pointerBytesAndHexRoundTrip() throws {
        let pointer = try Key(parsing: "acme/users/rnd/alice").pointer
        #expect(Pointer(hex: pointer.hex) == pointer)
        #expect(Pointer(hex: pointer.hex.uppercased()) == pointer)
        #expect(Pointer(bytes: pointer.bytes) == pointer)
        #expect(Pointer(bytes: [1, 2, 3]) == nil)
        #expect(Pointer(hex: "zz" + pointer.hex.dropFirst(2)) == nil)
        let other = try Key(parsing: "acme/users/rnd/bob").pointer
        #expect((pointer < other) == pointer.bytes.lexicographicallyPrecedes(other.bytes))
    }
}
