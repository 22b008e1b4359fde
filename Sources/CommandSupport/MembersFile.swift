import ArgumentParser
import Foundation
import Placement

/// Reads a members file: a JSON list of `{"id", "address", "zone", "weight"}`.
public enum MembersFile {
    public static func load(_ path: String) throws -> MemberList {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw commandFailure("cannot read members file \(path): \(error.localizedDescription)", status: ExitStatus.badInput)
        }
        let members: [Member]
        do {
            members = try JSONDecoder().decode([Member].self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw commandFailure(
                "members file \(path): member #\((context.codingPath.first?.intValue ?? 0) + 1) has no \"\(key.stringValue)\"",
                status: ExitStatus.badInput)
        } catch {
            throw commandFailure(
                "members file \(path) is not a JSON list of {\"id\", \"address\", \"zone\", \"weight\"}: \(error)",
                status: ExitStatus.badInput)
        }
        do {
            return try MemberList(members)
        } catch {
            throw commandFailure("members file \(path): \(error)", status: ExitStatus.badInput)
        }
    }
}
