/// One unit on a connection: `u32 length | u8 version | u8 kind | body`, where
/// `length` counts the bytes after itself. Peers and clients share the format
/// and the port; the first frame on a connection is a ``Hello``.
public enum Frame: Sendable, Equatable {
    case hello(Hello)
    /// Messages of many cells between two nodes, sent together.
    case cellMessages([CellEnvelope])
    /// Node-pair liveness: shared by every cell the two nodes host together.
    case heartbeat
    case request(ClientRequest)
    case response(ClientResponse)
    /// A snapshot in chunks, or how much of one arrived (between two nodes).
    case snapshotTransfer(SnapshotTransfer)

    /// Bumped on any incompatible change of any frame's layout.
    public static let version: UInt8 = 3
    /// Largest `length` accepted: a bigger announcement closes the connection
    /// before any of it is buffered.
    public static let lengthMaximum = 64 << 20
    public static let headerBytes = 4

    enum Kind: UInt8 {
        case hello = 1, cellMessages = 2, heartbeat = 3, request = 4, response = 5, snapshotTransfer = 6
    }

    /// The whole frame, length prefix included.
    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        writer.append(UInt32(0))
        writer.append(Self.version)
        switch self {
        case .hello(let hello):
            writer.append(Kind.hello.rawValue)
            hello.encode(into: &writer)
        case .cellMessages(let envelopes):
            writer.append(Kind.cellMessages.rawValue)
            writer.append(UInt32(envelopes.count))
            for envelope in envelopes { envelope.encode(into: &writer) }
        case .heartbeat:
            writer.append(Kind.heartbeat.rawValue)
        case .request(let request):
            writer.append(Kind.request.rawValue)
            request.encode(into: &writer)
        case .response(let response):
            writer.append(Kind.response.rawValue)
            response.encode(into: &writer)
        case .snapshotTransfer(let transfer):
            writer.append(Kind.snapshotTransfer.rawValue)
            transfer.encode(into: &writer)
        }
        var bytes = writer.bytes
        let length = UInt32(bytes.count - Self.headerBytes)
        withUnsafeBytes(of: length.littleEndian) { raw in
            for index in 0..<Self.headerBytes { bytes[index] = raw[index] }
        }
        return bytes
    }

    /// Decodes one frame body: the bytes after the length prefix.
    public init(body bytes: [UInt8]) throws(WireError) {
        var reader = WireReader(bytes)
        let version = try reader.read(UInt8.self, "frame version")
        guard version == Self.version else {
            throw WireError("frame version \(version) is not supported (this node speaks \(Self.version))")
        }
        let rawKind = try reader.read(UInt8.self, "frame kind")
        guard let kind = Kind(rawValue: rawKind) else { throw WireError("unknown frame kind \(rawKind)") }
        switch kind {
        case .hello:
            self = .hello(try Hello(from: &reader))
        case .cellMessages:
            let count = try reader.readCount("cell messages", elementBytes: CellEnvelope.minimumBytes)
            var envelopes: [CellEnvelope] = []
            envelopes.reserveCapacity(min(count, 1024))
            for _ in 0..<count { envelopes.append(try CellEnvelope(from: &reader)) }
            self = .cellMessages(envelopes)
        case .heartbeat:
            self = .heartbeat
        case .request:
            self = .request(try ClientRequest(from: &reader))
        case .response:
            self = .response(try ClientResponse(from: &reader))
        case .snapshotTransfer:
            self = .snapshotTransfer(try SnapshotTransfer(from: &reader))
        }
        try reader.expectEnd("\(kind) frame")
    }

    public static let tlsOnPlaintext = "the other side speaks TLS on this plaintext connection: a node with TLS needs"
        + " its clients to connect with the cluster's CA and either a client certificate (--tls-ca, --tls-cert, --tls-key;"
        + " a `tessera dev` cluster keeps them in <data-dir>/dev/credentials) or an access key (--tls-ca and"
        + " --access-key-id, the secret in $TESSERA_ACCESS_KEY_SECRET); a node run with --insecure-plaintext needs none"

    /// Whether a connection's first bytes are a TLS record (a handshake 0x16 or
    /// an alert 0x15, version 3.x) rather than a frame: a frame's fifth byte is
    /// its version, which a TLS record's fifth byte (part of its length) is not here.
    public static func isTLSRecord(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 5 && (bytes[0] == 0x15 || bytes[0] == 0x16) && bytes[1] == 0x03 && bytes[2] <= 0x04
            && bytes[4] != version
    }

    /// Reads a frame's announced body length from its 4-byte prefix, refusing
    /// one above ``lengthMaximum`` or too short to hold a version and a kind.
    public static func bodyLength(prefix: UInt32) throws(WireError) -> Int {
        let length = Int(prefix)
        guard length >= 2 else { throw WireError("frame length \(length) is too short for a version and a kind") }
        guard length <= lengthMaximum else { throw WireError("frame length \(length) exceeds the limit of \(lengthMaximum) bytes") }
        return length
    }
}

/// The first frame on every connection: who is speaking.
public enum Hello: Sendable, Equatable {
    /// Another node. `clusterFingerprint` covers the member list, cell depth and
    /// replica count: nodes that disagree on placement must not talk.
    case peer(memberID: String, clusterFingerprint: UInt64)
    case client
    /// A client that proves itself with an access key rather than a certificate
    /// (sent only inside TLS, or to a plaintext cluster that trusts its network).
    case clientWithAccessKey(id: String, secret: String)

    public var isClient: Bool {
        switch self {
        case .client, .clientWithAccessKey: true
        case .peer: false
        }
    }

    func encode(into writer: inout WireWriter) {
        switch self {
        case .peer(let memberID, let fingerprint):
            writer.append(UInt8(1))
            writer.appendString(memberID)
            writer.append(fingerprint)
        case .client:
            writer.append(UInt8(2))
        case .clientWithAccessKey(let id, let secret):
            writer.append(UInt8(3))
            writer.appendString(id)
            writer.appendString(secret)
        }
    }

    init(from reader: inout WireReader) throws(WireError) {
        switch try reader.read(UInt8.self, "hello role") {
        case 1: self = .peer(memberID: try reader.readString("peer member id", maximum: 1024),
                             clusterFingerprint: try reader.read(UInt64.self, "cluster fingerprint"))
        case 2: self = .client
        case 3: self = .clientWithAccessKey(id: try reader.readString("access key id", maximum: 64),
                                            secret: try reader.readString("access key secret", maximum: 256))
        case let role: throw WireError("unknown hello role \(role)")
        }
    }
}
