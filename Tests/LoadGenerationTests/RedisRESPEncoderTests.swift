import LoadGeneration
import NIOCore
import RedisDriver
import Testing

@Suite("RESP command encoder")
struct RedisRESPEncoderTests {
    @Test("SET with a 100-byte value is an array of three bulk strings")
    func setCommand() {
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: 100)
        let expected = Array("*3\r\n$3\r\nSET\r\n$3\r\nk12\r\n$100\r\n".utf8) + value + Array("\r\n".utf8)
        #expect(RESPCommandEncoder.encoded([Array("SET".utf8), Array("k12".utf8), value]) == expected)
    }

    @Test("GET and PING")
    func shortCommands() {
        #expect(RESPCommandEncoder.encoded([Array("GET".utf8), Array("k12".utf8)]) == Array("*2\r\n$3\r\nGET\r\n$3\r\nk12\r\n".utf8))
        #expect(RESPCommandEncoder.encoded([Array("PING".utf8)]) == Array("*1\r\n$4\r\nPING\r\n".utf8))
    }

    @Test("arguments are binary-safe: empty, CRLF inside, every byte value")
    func binaryArguments() {
        let binary = (0...255).map(UInt8.init)
        let encoded = RESPCommandEncoder.encoded([Array("SET".utf8), [], Array("a\r\nb".utf8), binary])
        let expected =
            Array("*4\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\na\r\nb\r\n$256\r\n".utf8) + binary + Array("\r\n".utf8)
        #expect(encoded == expected)
    }

    @Test("encoding appends to what the buffer holds")
    func appends() {
        var buffer = ByteBuffer(string: "before")
        RESPCommandEncoder.encode([Array("PING".utf8)], into: &buffer)
        #expect(buffer.readString(length: buffer.readableBytes) == "before*1\r\n$4\r\nPING\r\n")
    }
}
