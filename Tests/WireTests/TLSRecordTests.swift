import Testing

@testable import Wire

/// A plaintext connection that meets TLS says so; no frame is taken for TLS.
@Suite struct TLSRecordTests {
    @Test func tlsAlertsAndHandshakesAreRecognised() {
        #expect(Frame.isTLSRecord([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]))  // protocol-version alert
        #expect(Frame.isTLSRecord([0x16, 0x03, 0x01, 0x00, 0xF4]))  // a ClientHello
    }

    /// Frames whose length's low bytes look like a TLS record header still decode:
    /// their fifth byte is the frame version.
    @Test func framesWhoseLengthLooksLikeTLSAreStillFrames() {
        for body in [0x0315, 0x0316, 0x03_0315, 0x01_0316] {
            let length = UInt32(body)
            var bytes = withUnsafeBytes(of: length.littleEndian) { Array($0) }
            bytes.append(Frame.version)
            #expect(!Frame.isTLSRecord(bytes), "\(bytes)")
        }
    }
}
