/// The percent-escaping used by the text form of keys.
///
/// Printing escapes exactly `%`, `/`, ASCII control bytes and bytes that are not
/// part of valid UTF-8, as `%XX` with upper-case hex; everything else is kept.
/// That makes the printed form canonical (one spelling per key), which matters
/// because the pointer is the SHA-512 of that spelling. Parsing accepts any
/// `%XX` (either case), so hand-written escapes of ordinary characters still
/// name the same key.
enum PercentEscaping {

    static func escape(_ bytes: [UInt8], into output: inout [UInt8]) {
        // Most keys are printable ASCII without '%' or '/': copy them whole.
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "/") }) {
            output.append(contentsOf: bytes)
            return
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let length = validUTF8SequenceLength(bytes, at: index)
            if length == 0 || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "/") || byte < 0x20 || byte == 0x7F {
                output.append(UInt8(ascii: "%"))
                output.append(Hex.uppercaseDigits[Int(byte >> 4)])
                output.append(Hex.uppercaseDigits[Int(byte & 0x0F)])
                index += 1
            } else {
                output.append(contentsOf: bytes[index..<index + length])
                index += length
            }
        }
    }

    static func escape(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        escape(bytes, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes `%XX` escapes; on a malformed escape returns the byte offset of its `%`.
    static func unescape(_ escaped: ArraySlice<UInt8>) -> Result<[UInt8], BadEscape> {
        var output: [UInt8] = []
        output.reserveCapacity(escaped.count)
        var index = escaped.startIndex
        while index < escaped.endIndex {
            let byte = escaped[index]
            guard byte == UInt8(ascii: "%") else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 2 < escaped.endIndex,
                let high = Hex.value(of: escaped[index + 1]),
                let low = Hex.value(of: escaped[index + 2])
            else {
                return .failure(BadEscape(offset: index - escaped.startIndex))
            }
            output.append(high << 4 | low)
            index += 3
        }
        return .success(output)
    }

    struct BadEscape: Error {
        let offset: Int
    }

    /// Length of the well-formed UTF-8 sequence starting at `index`, or 0 if ill-formed
    /// (overlong forms, surrogates and code points above U+10FFFF are ill-formed).
    private static func validUTF8SequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let first = bytes[index]
        if first < 0x80 { return 1 }
        let length: Int
        var lowerBound: UInt8 = 0x80
        var upperBound: UInt8 = 0xBF
        switch first {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upperBound = 0x9F
        case 0xF0: length = 4; lowerBound = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upperBound = 0x8F
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        let second = bytes[index + 1]
        guard second >= lowerBound && second <= upperBound else { return 0 }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 {
            return 0
        }
        return length
    }
}
