import Foundation
import Keyspace
import Testing

/// Checks the Swift keyspace against vectors written by an independent
/// implementation (scripts/generate-test-vectors.py).
struct KeyVectorTests {
    struct Vectors: Decodable {
        struct Valid: Decodable {
            let input, canonical, account, resource, type, primaryKeyHex, sortKeyHex, hashedBytes, pointer: String
            let cells: [String: String]
        }
        struct Invalid: Decodable {
            let input, part: String
        }
        let valid: [Valid]
        let invalid: [Invalid]
    }

    static let vectors: Vectors = {
        let url = Bundle.module.url(forResource: "keys", withExtension: "json", subdirectory: "Vectors")!
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    @Test func validKeysParseToTheirPartsPointerAndCells() throws {
        #expect(Self.vectors.valid.count >= 10)
        for vector in Self.vectors.valid {
            let key = try Key(parsing: vector.input)
            #expect(key.text == vector.canonical, "\(vector.input)")
            #expect(key.account == vector.account)
            #expect(key.resource == vector.resource)
            #expect(key.type.rawValue == vector.type)
            #expect(hex(key.primaryKey) == vector.primaryKeyHex, "\(vector.input)")
            #expect(hex(key.sortKey) == vector.sortKeyHex, "\(vector.input)")
            #expect(String(decoding: key.canonicalCollectionBytes, as: UTF8.self) == vector.hashedBytes)
            #expect(key.pointer.hex == vector.pointer, "\(vector.input)")
            for (depth, text) in vector.cells {
                #expect(CellID(containing: key.pointer, depth: Int(depth)!).text == text, "\(vector.input) depth \(depth)")
            }
            // The canonical form parses back to the same key.
            #expect(try Key(parsing: vector.canonical) == key)
        }
    }

    @Test func invalidKeysNameThePartAtFault() {
        #expect(Self.vectors.invalid.count >= 10)
        for vector in Self.vectors.invalid {
            do {
                _ = try Key(parsing: vector.input)
                Issue.record("\(vector.input.prefix(60)) should fail on \(vector.part)")
            } catch {
                #expect(error.part.rawValue == vector.part, "\(vector.input.prefix(60)): \(error)")
            }
        }
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
