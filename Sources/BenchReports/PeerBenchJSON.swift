// The machine-readable record, benchmarks/results/<date>.json: the raw
// results, pretty-printed with sorted keys so that files diff well, and read
// back so that a later run or a test can re-render the report from it.

import Foundation

enum PeerBenchJSON {
    /// Non-finite numbers cannot be JSON numbers; they are written as these strings.
    static let infinity = "inf"
    static let negativeInfinity = "-inf"
    static let notANumber = "nan"

    static func encode(_ results: PeerBenchResults) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: infinity, negativeInfinity: negativeInfinity, nan: notANumber)
        var data = try encoder.encode(results)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    static func decode(_ data: Data) throws -> PeerBenchResults {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: infinity, negativeInfinity: negativeInfinity, nan: notANumber)
        return try decoder.decode(PeerBenchResults.self, from: data)
    }
}
