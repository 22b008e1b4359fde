/// A deployed program as deploy and list report it.
public struct WireProgram: Sendable, Equatable {
    public var name: String
    public var sizeBytes: UInt32
    /// The version of the item holding the module: changes at every deploy.
    public var version: UInt64
    /// Hex SHA-256 of the module.
    public var sha256: String
    /// Function exports: name and signature, e.g. `("push", "(i64, i64) -> (i64)")`.
    public var exports: [WireExport]

    public init(name: String, sizeBytes: UInt32, version: UInt64, sha256: String, exports: [WireExport]) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.version = version
        self.sha256 = sha256
        self.exports = exports
    }

    static let countMaximum = 100_000

    func encode(into writer: inout WireWriter) {
        writer.appendString(name)
        writer.append(sizeBytes)
        writer.append(version)
        writer.appendString(sha256)
        writer.append(UInt32(exports.count))
        for export in exports {
            writer.appendString(export.name)
            writer.appendString(export.signature)
        }
    }

    init(from reader: inout WireReader) throws(WireError) {
        name = try reader.readString("program name", maximum: 1024)
        sizeBytes = try reader.read(UInt32.self, "program size")
        version = try reader.read(UInt64.self, "program version")
        sha256 = try reader.readString("program digest", maximum: 1024)
        let count = try reader.readCount("program exports", elementBytes: 8)
        exports = []
        for _ in 0..<count {
            exports.append(WireExport(name: try reader.readString("export name"), signature: try reader.readString("export signature")))
        }
    }
}

public struct WireExport: Sendable, Equatable {
    public var name: String
    public var signature: String

    public init(name: String, signature: String) {
        self.name = name
        self.signature = signature
    }
}

/// What an invocation returned, where it ran and what it used.
public struct WireInvocation: Sendable, Equatable {
    /// The member that ran it.
    public var node: String
    public var results: [Int64]
    public var fuelUsed: UInt64
    public var hostCalls: UInt32
    public var elapsedMicroseconds: UInt64
    public var logs: [String]

    public init(node: String, results: [Int64], fuelUsed: UInt64, hostCalls: UInt32, elapsedMicroseconds: UInt64, logs: [String]) {
        self.node = node
        self.results = results
        self.fuelUsed = fuelUsed
        self.hostCalls = hostCalls
        self.elapsedMicroseconds = elapsedMicroseconds
        self.logs = logs
    }

    func encode(into writer: inout WireWriter) {
        writer.appendString(node)
        writer.append(UInt32(results.count))
        for result in results { writer.append(result) }
        writer.append(fuelUsed)
        writer.append(hostCalls)
        writer.append(elapsedMicroseconds)
        writer.append(UInt32(logs.count))
        for line in logs { writer.appendString(line) }
    }

    init(from reader: inout WireReader) throws(WireError) {
        node = try reader.readString("node")
        let count = try reader.readCount("results", elementBytes: 8)
        results = []
        for _ in 0..<count { results.append(try reader.read(Int64.self, "result")) }
        fuelUsed = try reader.read(UInt64.self, "fuel used")
        hostCalls = try reader.read(UInt32.self, "host calls")
        elapsedMicroseconds = try reader.read(UInt64.self, "elapsed time")
        let lines = try reader.readCount("log lines", elementBytes: 4)
        logs = []
        for _ in 0..<lines { logs.append(try reader.readString("log line")) }
    }
}
