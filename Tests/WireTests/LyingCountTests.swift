import Testing
import Wire

/// Counts and lengths are checked against the bytes actually left before
/// anything is allocated: a short body announcing billions of elements is
/// refused at once, naming what it announced.
@Suite struct LyingCountTests {
    static let huge = UInt32(1) << 31

    /// A cell messages body holding one envelope for cell 7, of the given message kind.
    static func oneCellMessage(kind: UInt8, _ fill: (inout WireWriter) -> Void) -> [UInt8] {
        body(kind: 2) { writer in
            writer.append(UInt32(1))
            writer.append(UInt64(7))
            writer.append(kind)
            fill(&writer)
        }
    }

    /// An accept's fixed fields (ballot, previous index and ballot, commit index, sent-at).
    static func acceptHeader(_ writer: inout WireWriter) {
        for _ in 0..<5 { writer.append(UInt64(1)) }
    }

    /// A request or response of id 9 and the given kind.
    static func clientBody(frameKind: UInt8, kind: UInt8, _ fill: (inout WireWriter) -> Void) -> [UInt8] {
        body(kind: frameKind) { writer in
            writer.append(UInt64(9))
            writer.append(kind)
            fill(&writer)
        }
    }

    static let cases: [(String, [UInt8], String)] = [
        ("cell messages", body(kind: 2) { $0.append(huge); $0.append(UInt64(0)); $0.append(UInt32(0)) },
         "2147483648 cell messages announced, but only 12 bytes are left"),
        ("entries", oneCellMessage(kind: 3) { acceptHeader(&$0); $0.append(huge); $0.append(UInt16(0)) },
         "2147483648 log entries announced, but only 2 bytes are left"),
        ("entries above the limit, though the bytes could hold them",
         oneCellMessage(kind: 3) { acceptHeader(&$0); $0.append(UInt32(65_537)); $0.appendBlob([UInt8](repeating: 0, count: 65_537 * 25)) },
         "accept carries 65537 entries; the limit is 65536"),
        ("entry command", oneCellMessage(kind: 3) {
            acceptHeader(&$0); $0.append(UInt32(1)); $0.append(UInt64(1)); $0.append(UInt64(1)); $0.append(UInt8(1)); $0.append(UInt32.max)
            $0.append(UInt64(0))  // room for the checksum: the count check passes
        }, "truncated entry command: 4294967295 bytes announced, 8 left"),
        ("entry configuration", oneCellMessage(kind: 3) {
            acceptHeader(&$0); $0.append(UInt32(1)); $0.append(UInt64(1)); $0.append(UInt64(1)); $0.append(UInt8(2)); $0.append(huge)
            $0.append(UInt32(0))
        }, "2147483648 configuration members announced, but only 4 bytes are left"),
        ("snapshot configuration", oneCellMessage(kind: 5) { for _ in 0..<4 { $0.append(UInt64(1)) }; $0.append(UInt32.max) },
         "4294967295 configuration members announced, but only 0 bytes are left"),
        ("snapshot state", oneCellMessage(kind: 5) { for _ in 0..<4 { $0.append(UInt64(1)) }; $0.append(UInt32(0)); $0.append(huge); $0.append(UInt8(0)) },
         "truncated snapshot state: 2147483648 bytes announced, 1 left"),
        ("hello member id", body(kind: 1) { $0.append(UInt8(1)); $0.append(UInt32.max); $0.append(UInt64(0)) },
         "peer member id is 4294967295 bytes; the limit is 1024"),
        ("writes", clientBody(frameKind: 4, kind: 1) { for _ in 0..<3 { $0.append(UInt64(0)) }; $0.append(huge); $0.append(UInt8(0)) },
         "2147483648 writes announced, but only 1 bytes are left"),
        ("key", clientBody(frameKind: 4, kind: 2) { $0.append(huge); $0.append(UInt8(0)) },
         "key is 2147483648 bytes; the limit is 16384"),
        ("value", clientBody(frameKind: 4, kind: 1) {
            for _ in 0..<3 { $0.append(UInt64(0)) }; $0.append(UInt32(1)); $0.appendString("k"); $0.append(true); $0.append(UInt32(100)); $0.append(UInt8(0))
        }, "truncated value: 100 bytes announced, 1 left"),
        ("items", clientBody(frameKind: 5, kind: 4) { $0.append(huge); $0.append(false) },
         "2147483648 items announced, but only 1 bytes are left"),
        ("sort key", clientBody(frameKind: 5, kind: 3) { $0.append(true); $0.append(UInt32.max) },
         "truncated sort key: 4294967295 bytes announced, 0 left"),
        ("members", clientBody(frameKind: 5, kind: 7) { $0.append(huge); $0.append(UInt16(0)); $0.append(UInt32(0)) },
         "2147483648 members announced, but only 6 bytes are left"),
        ("suspected peers", clientBody(frameKind: 5, kind: 8) {
            $0.appendString("n1"); $0.append(UInt64(0)); for _ in 0..<3 { $0.append(UInt32(0)) }; $0.append(huge); $0.append(UInt32(0))
        }, "2147483648 suspected peers announced, but only 4 bytes are left"),
        ("lagging replicas", clientBody(frameKind: 5, kind: 8) {
            $0.appendString("n1"); $0.append(UInt64(0)); for _ in 0..<3 { $0.append(UInt32(0)) }; $0.append(UInt32(0)); $0.append(UInt32.max)
            $0.append(UInt64(0)); $0.append(UInt64(0))
        }, "4294967295 lagging replicas announced, but only 16 bytes are left"),
    ]

    /// Each refusal names the bytes actually left, so the count was checked against
    /// them before anything was reserved: trusting any of these counts would need
    /// gigabytes (or trap). (No timing here: the error proves the order.)
    @Test func aLyingCountOrLengthIsRefusedNamingWhatItAnnounced() {
        for (part, body, reason) in Self.cases {
            #expect(throws: WireError(reason), "\(part)") { try Frame(body: body) }
        }
    }
}
