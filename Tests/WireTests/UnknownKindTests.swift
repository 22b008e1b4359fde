import Testing
import Wire

/// A version, kind, code or flag this node does not know is refused with a
/// reason that names the value and what it was meant to be.
@Suite struct UnknownKindTests {
    func request(kind: UInt8, _ fill: (inout WireWriter) -> Void = { _ in }) -> [UInt8] {
        body(kind: 4) { writer in
            writer.append(UInt64(9))
            writer.append(kind)
            fill(&writer)
        }
    }

    func response(kind: UInt8, _ fill: (inout WireWriter) -> Void = { _ in }) -> [UInt8] {
        body(kind: 5) { writer in
            writer.append(UInt64(9))
            writer.append(kind)
            fill(&writer)
        }
    }

    func cellMessage(kind: UInt8, _ fill: (inout WireWriter) -> Void = { _ in }) -> [UInt8] {
        body(kind: 2) { writer in
            writer.append(UInt32(1))
            writer.append(UInt64(7))
            writer.append(kind)
            fill(&writer)
        }
    }

    @Test func unknownVersionsAndFrameKindsAreNamed() {
        for version: UInt8 in [0, 1, 2, 4, 255] {
            #expect(throws: WireError("frame version \(version) is not supported (this node speaks 3)")) {
                try Frame(body: body(version: version, kind: 3))
            }
        }
        for kind: UInt8 in [0, 7, 255] {
            #expect(throws: WireError("unknown frame kind \(kind)")) { try Frame(body: body(kind: kind)) }
        }
        // The version is checked before anything else: a future frame's body is never interpreted.
        #expect(throws: WireError("frame version 4 is not supported (this node speaks 3)")) {
            try Frame(body: body(version: 4, kind: 200) { $0.append(UInt64.max) })
        }
    }

    @Test func unknownKindsInsideFramesAreNamed() {
        let cases: [([UInt8], String)] = [
            (body(kind: 1) { $0.append(UInt8(4)) }, "unknown hello role 4"),
            (body(kind: 1) { $0.append(UInt8(0)) }, "unknown hello role 0"),
            (cellMessage(kind: 0), "unknown cell message kind 0 for cell 7"),
            (cellMessage(kind: 6), "unknown cell message kind 6 for cell 7"),
            (cellMessage(kind: 3) {
                for _ in 0..<5 { $0.append(UInt64(1)) }
                $0.append(UInt32(1)); $0.append(UInt64(42)); $0.append(UInt64(1)); $0.append(UInt8(3)); $0.append(UInt64(0))
            }, "unknown entry payload kind 3 at index 42"),
            (request(kind: 0), "unknown request kind 0"),
            (request(kind: 18), "unknown request kind 18"),
            (request(kind: 1) {
                for _ in 0..<3 { $0.append(UInt64(0)) }
                $0.append(UInt32(1)); $0.appendString("k"); $0.append(false); $0.append(UInt8(5))
            }, "unknown condition kind 5"),
            (request(kind: 2) { $0.appendString("k"); $0.append(UInt8(2)) }, "unknown read consistency 2"),
            (response(kind: 0), "unknown response kind 0"),
            (response(kind: 19), "unknown response kind 19"),
            (response(kind: 6) { $0.append(UInt8(0)); $0.appendString("") }, "unknown error code 0"),
            (response(kind: 6) { $0.append(UInt8(17)); $0.appendString("") }, "unknown error code 17"),
        ]
        for (bytes, reason) in cases {
            #expect(throws: WireError(reason)) { try Frame(body: bytes) }
        }
    }

    @Test func flagsOtherThanZeroOrOneAreNamed() {
        let cases: [([UInt8], String)] = [
            (cellMessage(kind: 1) { for _ in 0..<3 { $0.append(UInt64(1)) }; $0.append(UInt8(2)) }, "prepare probe flag is 2, not 0 or 1"),
            (cellMessage(kind: 2) { $0.append(UInt64(1)); $0.append(UInt8(255)) }, "promise granted flag is 255, not 0 or 1"),
            (cellMessage(kind: 4) { $0.append(UInt64(1)); $0.append(UInt8(7)) }, "accepted success flag is 7, not 0 or 1"),
            (request(kind: 1) {
                for _ in 0..<3 { $0.append(UInt64(0)) }
                $0.append(UInt32(1)); $0.appendString("k"); $0.append(UInt8(2))
            }, "presence of value flag is 2, not 0 or 1"),
            (request(kind: 3) { $0.appendString("c"); $0.append(UInt8(9)) }, "presence of query start flag is 9, not 0 or 1"),
            (request(kind: 3) { $0.appendString("c"); $0.append(false); $0.append(false); $0.append(UInt8(2)) },
             "query direction flag is 2, not 0 or 1"),
            (response(kind: 2) { $0.append(UInt32(0)); $0.append(UInt8(3)) }, "presence of current version flag is 3, not 0 or 1"),
            (response(kind: 3) { $0.append(UInt8(2)) }, "item presence flag is 2, not 0 or 1"),
            (response(kind: 4) { $0.append(UInt32(0)); $0.append(UInt8(2)) }, "more-items flag is 2, not 0 or 1"),
            (response(kind: 5) { $0.append(UInt8(2)) }, "leader presence flag is 2, not 0 or 1"),
        ]
        for (bytes, reason) in cases {
            #expect(throws: WireError(reason)) { try Frame(body: bytes) }
        }
    }

    @Test func textThatIsNotUTF8IsNamed() {
        let invalid: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x61, 0xE2, 0x82]]
        for bytes in invalid {
            #expect(throws: WireError("key is not valid UTF-8")) {
                try Frame(body: request(kind: 2) { $0.appendBlob(bytes); $0.append(UInt8(0)) })
            }
            #expect(throws: WireError("peer member id is not valid UTF-8")) {
                try Frame(body: body(kind: 1) { $0.append(UInt8(1)); $0.appendBlob(bytes); $0.append(UInt64(0)) })
            }
        }
    }
}
