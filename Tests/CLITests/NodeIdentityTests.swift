import Foundation
import TestSupport
import Testing

/// A node's data names members by their place in the member list it was
/// written with: a members file edited so that those places shift (or so that
/// placement moves cells) makes the node refuse to start, saying why; a
/// member that only moved to another address is fine.
@Suite struct NodeIdentityTests {
    static func members(_ entries: [(id: String, port: Int, zone: String)]) -> String {
        let items = entries.map { #"{"id": "\#($0.id)", "address": "127.0.0.1:\#($0.port)", "zone": "\#($0.zone)"}"# }
        return "[" + items.joined(separator: ", ") + "]"
    }

    @Test(.timeLimit(.minutes(2))) func editingTheMembersSoThatIdsShiftIsRefusedWithItsReason() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let ports = try LoopbackPorts.free(3)
        let membersPath = tessera.folder.path + "/members.json"
        let dataDirectory = tessera.folder.path + "/node-b"
        func writeMembers(_ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: membersPath)) }
        func serveArguments(port: Int) -> [String] {
            ["serve", "--node-id", "b", "--listen", "127.0.0.1:\(port)", "--members", membersPath, "--data-dir", dataDirectory,
             "--cell-depth", "4", "--replicas", "1", "--insecure-plaintext"]
        }
        func serve(port: Int) throws -> BackgroundProcess {
            try BackgroundProcess(tessera.executable, serveArguments(port: port),
                                  logURL: tessera.folder.url.appendingPathComponent("serve-\(port).log"))
        }

        // First start: the members are recorded beside the data.
        try writeMembers(Self.members([("b", ports[0], "z1"), ("c", ports[1], "z1")]))
        let first = try serve(port: ports[0])
        #expect(await first.waitForOutput("node serving", timeout: .seconds(60)), "\(first.output)")
        await first.stop()
        let recorded = try String(contentsOfFile: dataDirectory + "/node.json", encoding: .utf8)
        #expect(recorded.contains("\"members\""), "\(recorded)")

        // A new member whose id sorts first would renumber b and c.
        try writeMembers(Self.members([("a", ports[2], "z1"), ("b", ports[0], "z1"), ("c", ports[1], "z1")]))
        let shifted = try await tessera.bare(serveArguments(port: ports[0]))
        #expect(shifted.status == 64, "\(shifted.errorOutput)")
        #expect(shifted.errorOutput.contains("the members file changed"), "\(shifted.errorOutput)")
        #expect(shifted.errorOutput.contains("added a"), "\(shifted.errorOutput)")
        #expect(shifted.errorOutput.contains("node.json"), "\(shifted.errorOutput)")

        // Moving a member to another zone moves cells: refused too.
        try writeMembers(Self.members([("b", ports[0], "z1"), ("c", ports[1], "z2")]))
        let moved = try await tessera.bare(serveArguments(port: ports[0]))
        #expect(moved.status == 64, "\(moved.errorOutput)")
        #expect(moved.errorOutput.contains("moved c from zone z1 to z2"), "\(moved.errorOutput)")

        // Another address for the same members: the node starts.
        try writeMembers(Self.members([("b", ports[2], "z1"), ("c", ports[1], "z1")]))
        let readdressed = try serve(port: ports[2])
        #expect(await readdressed.waitForOutput("node serving", timeout: .seconds(60)), "\(readdressed.output)")
        await readdressed.stop()
    }
}
