@testable import Client
import Keyspace
import Placement
import Testing
import Wire

/// A fixed-seed generator so jitter is reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct EndpointTests {
    @Test func parsesHostPortForms() {
        #expect(Endpoint("127.0.0.1:7000") == Endpoint(host: "127.0.0.1", port: 7000))
        #expect(Endpoint("node-1.example:1") == Endpoint(host: "node-1.example", port: 1))
        #expect(Endpoint("[::1]:7000") == Endpoint(host: "::1", port: 7000))
        #expect(Endpoint("[::1]:7000")?.description == "[::1]:7000")
    }

    @Test func refusesMalformedEndpoints() {
        for text in ["", "localhost", "localhost:", ":7000", "host:0", "host:65536", "host:x", "::1:7000", "[::1]7000", "a b:1"] {
            #expect(Endpoint(text) == nil, "\(text) should be refused")
        }
    }
}

struct BackoffTests {
    @Test func ceilingDoublesUpToTheMaximum() {
        var backoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(100))
        var random = SplitMix(state: 1)
        var ceilings: [Duration] = []
        for _ in 0..<6 {
            ceilings.append(backoff.nextCeiling)
            _ = backoff.next(using: &random)
        }
        #expect(ceilings == [.milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(80),
                             .milliseconds(100), .milliseconds(100)])
        backoff.reset()
        #expect(backoff.nextCeiling == .milliseconds(10))
    }

    @Test func jitterStaysWithinHalfToFullCeiling() {
        var backoff = Backoff(initial: .milliseconds(20), maximum: .milliseconds(500))
        var random = SplitMix(state: 42)
        for _ in 0..<200 {
            let ceiling = backoff.nextCeiling
            let pause = backoff.next(using: &random)
            #expect(pause <= ceiling && pause >= ceiling / 2)
        }
    }

    @Test func hugeFailureCountsDoNotOverflow() {
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(30))
        var random = SplitMix(state: 3)
        for _ in 0..<100 { _ = backoff.next(using: &random) }
        #expect(backoff.nextCeiling == .seconds(30))
    }
}

struct SequenceWindowTests {
    @Test func acknowledgedBelowIsTheOldestWriteInFlight() {
        var window = SequenceWindow()
        #expect(window.acknowledgedBelow == 1)
        let a = window.begin(), b = window.begin(), c = window.begin()
        #expect((a, b, c) == (1, 2, 3))
        #expect(window.acknowledgedBelow == 1)
        window.finish(b)
        #expect(window.acknowledgedBelow == 1, "1 is still in flight")
        window.finish(a)
        #expect(window.acknowledgedBelow == 3, "1 and 2 finished; 3 in flight")
        window.finish(c)
        #expect(window.acknowledgedBelow == 4)
        let d = window.begin()
        #expect(d == 4 && window.acknowledgedBelow == 4)
        window.finish(d)
        window.finish(d)  // twice: harmless
        #expect(window.acknowledgedBelow == 5 && window.inFlight.isEmpty)
    }

    @Test func neverPassesASequenceInFlight() {
        var window = SequenceWindow()
        var random = SplitMix(state: 9)
        var live: [UInt64] = []
        for _ in 0..<2_000 {
            if live.isEmpty || random.next() % 3 != 0 {
                live.append(window.begin())
            } else {
                let index = Int(random.next() % UInt64(live.count))
                window.finish(live.remove(at: index))
            }
            #expect(window.acknowledgedBelow <= (live.min() ?? window.next))
            if let oldest = live.min() { #expect(window.acknowledgedBelow == oldest) }
        }
    }
}

struct ReplicaCursorTests {
    let replicas = ["a", "b", "c"]

    @Test func startsAtTheCachedLeaderElseTheFirstReplica() {
        var cursor = ReplicaCursor()
        #expect(cursor.next(replicas: replicas, leader: nil) == "a")
        var withLeader = ReplicaCursor()
        #expect(withLeader.next(replicas: replicas, leader: "b") == "b")
        var strayLeader = ReplicaCursor()
        #expect(strayLeader.next(replicas: replicas, leader: "z") == "a")
    }

    /// Without a cached leader, a replica the client is connected to comes
    /// first: the first in placement order may be a node that hangs.
    @Test func withoutALeaderPrefersAConnectedReplica() {
        var cursor = ReplicaCursor()
        #expect(cursor.next(replicas: replicas, leader: nil, connected: ["c", "z"]) == "c")
        var withLeader = ReplicaCursor()
        #expect(withLeader.next(replicas: replicas, leader: "b", connected: ["c"]) == "b", "a cached leader still comes first")
        var none = ReplicaCursor()
        #expect(none.next(replicas: replicas, leader: nil, connected: ["z"]) == "a")
    }

    @Test func advancesRoundRobinAndStaysOtherwise() {
        var cursor = ReplicaCursor()
        var tried: [String] = []
        tried.append(cursor.next(replicas: replicas, leader: "b")!)
        for _ in 0..<4 {
            cursor.advance()
            tried.append(cursor.next(replicas: replicas, leader: nil)!)
        }
        #expect(tried == ["b", "c", "a", "b", "c"])
        #expect(cursor.next(replicas: replicas, leader: nil) == "c", "no advance: same member")
    }

    @Test func redirectsToAHintThatIsAReplica() {
        var cursor = ReplicaCursor()
        _ = cursor.next(replicas: replicas, leader: nil)
        cursor.redirect(to: "c")
        #expect(cursor.next(replicas: replicas, leader: nil) == "c")
        cursor.redirect(to: "zz")  // not a replica: advance instead
        #expect(cursor.next(replicas: replicas, leader: nil) == "a")
        #expect(cursor.next(replicas: [], leader: nil) == nil)
    }

    @Test func restartsWhenTheCurrentMemberLeftTheReplicaSet() {
        var cursor = ReplicaCursor()
        _ = cursor.next(replicas: replicas, leader: "c")
        cursor.advance()
        #expect(cursor.next(replicas: ["x", "y"], leader: "y") == "y")
    }
}

struct RoutingTableTests {
    static func info(form: String = "hierarchical", depth: UInt8 = 8, replicas: UInt8 = 3) -> ClusterInfo {
        ClusterInfo(
            members: (1...5).map { .init(id: "node-\($0)", address: "127.0.0.1:\(7000 + $0)", zone: "z\($0 % 3)", weight: 1) },
            cellDepth: depth, replicas: replicas, placementForm: form)
    }

    @Test func routesAsPlacementDoes() throws {
        let info = Self.info()
        let table = try RoutingTable(info)
        let list = try MemberList(info.members.map { Member(id: $0.id, address: $0.address, zone: $0.zone, weight: $0.weight) })
        let placement = PlacementForm.hierarchical.placement(for: list)
        for index in 0..<50 {
            let key = try Key(parsing: "acme/table/rnd/key-\(index)/sort")
            let cell = CellID(containing: key.pointer, depth: 8)
            #expect(table.cell(of: key) == cell)
            #expect(table.replicas(of: cell) == placement.replicas(of: cell, count: 3).map(\.id))
            let collection = try Key(parsing: "acme/table/rnd/key-\(index)")
            #expect(table.cell(of: collection) == cell, "sort keys are not hashed")
        }
        #expect(table.endpoint(of: "node-2") == Endpoint(host: "127.0.0.1", port: 7002))
        #expect(table.endpoint(of: "node-9") == nil)
    }

    @Test func refusesClusterInfoItCannotRouteBy() {
        #expect(throws: TesseraClientError.self) { try RoutingTable(Self.info(form: "ring")) }
        #expect(throws: TesseraClientError.self) { try RoutingTable(Self.info(depth: 65)) }
        #expect(throws: TesseraClientError.self) { try RoutingTable(Self.info(replicas: 0)) }
        var noMembers = Self.info()
        noMembers.members = []
        #expect(throws: TesseraClientError.self) { try RoutingTable(noMembers) }
        var badAddress = Self.info()
        badAddress.members[0].address = "nowhere"
        do {
            _ = try RoutingTable(badAddress)
            Issue.record("a bad address was accepted")
        } catch {
            #expect(error.description.contains("nowhere"))
        }
    }

    @Test func leaderCacheSurvivesOnlyAnUnchangedPlacement() throws {
        let router = Router(table: try RoutingTable(Self.info()))
        let cell = CellID(depth: 8, prefix: 3)!
        router.recordLeader("node-2", of: cell)
        router.install(try RoutingTable(Self.info()))
        #expect(router.leader(of: cell) == "node-2")
        router.forgetLeader("node-3", of: cell)
        #expect(router.leader(of: cell) == "node-2", "only the cached leader is forgotten")
        router.install(try RoutingTable(Self.info(depth: 9)))
        #expect(router.leader(of: cell) == nil)
    }
}

struct MessageTests {
    @Test func attemptLogCountsRepeats() {
        var log = AttemptLog()
        log.record("node-1", "connection refused")
        log.record("node-2", "no leader")
        log.record("node-2", "no leader")
        log.record("node-1", "connection refused")
        log.record("node-2", "no answer within 3 s")
        log.record("node-2", "no leader")
        #expect(log.summary == "node-1 (2× connection refused), node-2 (3× no leader, no answer within 3 s)")
        for reason in ["a", "b", "c", "d"] { log.record("node-3", reason) }
        #expect(log.summary.hasSuffix("node-3 (a, b, c, 1 other failure)"))
    }

    @Test func durationsReadAsPeopleWriteThem() {
        #expect(Duration.seconds(10).readable == "10 s")
        #expect(Duration.milliseconds(1_500).readable == "1.5 s")
        #expect(Duration.milliseconds(250).readable == "250 ms")
        #expect(Duration.milliseconds(1_500).totalNanoseconds == 1_500_000_000)
    }

    @Test func errorsDescribeThemselves() {
        let error = TesseraClientError.timeout("put a/b/rnd/c: no replica answered", outcomeUnknown: true)
        #expect(error.description == "timed out: put a/b/rnd/c: no replica answered")
        #expect(error.writeMayHaveApplied)
        #expect(!TesseraClientError.badRequest("x").writeMayHaveApplied)
    }
}
