/// What a client needs to route by itself: the members and the placement
/// settings every node of the cluster uses.
public struct ClusterInfo: Sendable, Equatable {
    public struct MemberInfo: Sendable, Equatable {
        public var id: String
        public var address: String
        public var zone: String
        public var weight: Double

        public init(id: String, address: String, zone: String, weight: Double) {
            self.id = id
            self.address = address
            self.zone = zone
            self.weight = weight
        }
    }

    public var members: [MemberInfo]
    /// Cells are pointer prefixes of this many bits.
    public var cellDepth: UInt8
    public var replicas: UInt8
    /// `hierarchical` or `flat` (see the Placement target).
    public var placementForm: String

    public init(members: [MemberInfo], cellDepth: UInt8, replicas: UInt8, placementForm: String) {
        self.members = members
        self.cellDepth = cellDepth
        self.replicas = replicas
        self.placementForm = placementForm
    }

    func encode(into writer: inout WireWriter) {
        writer.append(UInt32(members.count))
        for member in members {
            writer.appendString(member.id)
            writer.appendString(member.address)
            writer.appendString(member.zone)
            writer.append(member.weight.bitPattern)
        }
        writer.append(cellDepth)
        writer.append(replicas)
        writer.appendString(placementForm)
    }

    init(from reader: inout WireReader) throws(WireError) {
        let count = try reader.readCount("members", elementBytes: 20)
        var members: [MemberInfo] = []
        for _ in 0..<count {
            members.append(MemberInfo(
                id: try reader.readString("member id"), address: try reader.readString("member address"),
                zone: try reader.readString("member zone"),
                weight: Double(bitPattern: try reader.read(UInt64.self, "member weight"))))
        }
        self.members = members
        cellDepth = try reader.read(UInt8.self, "cell depth")
        replicas = try reader.read(UInt8.self, "replica count")
        placementForm = try reader.readString("placement form")
    }
}

/// One node's view of itself, for `tessera status`.
public struct NodeStatus: Sendable, Equatable {
    /// A follower whose log is behind its leader's commit index.
    public struct LaggingReplica: Sendable, Equatable {
        public var cell: UInt64
        public var member: String
        public var entriesBehind: UInt64

        public init(cell: UInt64, member: String, entriesBehind: UInt64) {
            self.cell = cell
            self.member = member
            self.entriesBehind = entriesBehind
        }
    }

    public var memberID: String
    public var uptimeMilliseconds: UInt64
    public var cellsHosted: UInt32
    public var cellsLed: UInt32
    /// Hosted cells whose replica here knows no leader.
    public var cellsWithoutLeader: UInt32
    /// Peers this node currently suspects to be down.
    public var suspectedPeers: [String]
    /// Replicas lagging behind cells this node leads (at most a few hundred listed).
    public var lagging: [LaggingReplica]
    public var committedEntries: UInt64
    public var walBytes: UInt64

    public init(memberID: String, uptimeMilliseconds: UInt64, cellsHosted: UInt32, cellsLed: UInt32,
                cellsWithoutLeader: UInt32, suspectedPeers: [String], lagging: [LaggingReplica],
                committedEntries: UInt64, walBytes: UInt64) {
        self.memberID = memberID
        self.uptimeMilliseconds = uptimeMilliseconds
        self.cellsHosted = cellsHosted
        self.cellsLed = cellsLed
        self.cellsWithoutLeader = cellsWithoutLeader
        self.suspectedPeers = suspectedPeers
        self.lagging = lagging
        self.committedEntries = committedEntries
        self.walBytes = walBytes
    }

    func encode(into writer: inout WireWriter) {
        writer.appendString(memberID)
        writer.append(uptimeMilliseconds)
        writer.append(cellsHosted)
        writer.append(cellsLed)
        writer.append(cellsWithoutLeader)
        writer.append(UInt32(suspectedPeers.count))
        for peer in suspectedPeers { writer.appendString(peer) }
        writer.append(UInt32(lagging.count))
        for replica in lagging {
            writer.append(replica.cell)
            writer.appendString(replica.member)
            writer.append(replica.entriesBehind)
        }
        writer.append(committedEntries)
        writer.append(walBytes)
    }

    init(from reader: inout WireReader) throws(WireError) {
        memberID = try reader.readString("member id")
        uptimeMilliseconds = try reader.read(UInt64.self, "uptime")
        cellsHosted = try reader.read(UInt32.self, "cells hosted")
        cellsLed = try reader.read(UInt32.self, "cells led")
        cellsWithoutLeader = try reader.read(UInt32.self, "cells without leader")
        let suspectedCount = try reader.readCount("suspected peers", elementBytes: 4)
        var suspected: [String] = []
        for _ in 0..<suspectedCount { suspected.append(try reader.readString("suspected peer")) }
        suspectedPeers = suspected
        let laggingCount = try reader.readCount("lagging replicas", elementBytes: 20)
        var lagging: [LaggingReplica] = []
        for _ in 0..<laggingCount {
            lagging.append(LaggingReplica(cell: try reader.read(UInt64.self, "lagging cell"),
                                          member: try reader.readString("lagging member"),
                                          entriesBehind: try reader.read(UInt64.self, "entries behind")))
        }
        self.lagging = lagging
        committedEntries = try reader.read(UInt64.self, "committed entries")
        walBytes = try reader.read(UInt64.self, "WAL bytes")
    }
}
