import Foundation
import Testing

/// An outside program some tests drive for real (redis-server, etcd, fio).
///
/// On a developer's machine a missing program skips those tests with a one-line
/// reason naming the Debian package to install. Where the program is required
/// (`CI=true`, or `TESSERA_REQUIRE_PEERS=1`) the tests run anyway and fail, so that
/// CI never passes by skipping them.
public struct PeerProgram: Sendable, CustomStringConvertible {
    /// The executable's name, looked up on `PATH` and in the usual folders.
    public let name: String
    /// The Debian package that installs it.
    public let debianPackage: String

    public static let redisServer = PeerProgram(name: "redis-server", debianPackage: "redis-server")
    public static let etcd = PeerProgram(name: "etcd", debianPackage: "etcd-server")
    public static let fio = PeerProgram(name: "fio", debianPackage: "fio")

    public var description: String { name }

    /// Where the program is, or nil when it is not installed.
    public var path: String? {
        let pathFolders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let folders = pathFolders + ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/opt/homebrew/bin"]
        return folders.lazy.map { $0 + "/" + name }.first(where: FileManager.default.isExecutableFile(atPath:))
    }

    /// True when a missing program must fail its tests rather than skip them.
    public static var areRequired: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["CI"] == "true" || environment["TESSERA_REQUIRE_PEERS"] == "1"
    }

    /// The tests that drive this program run: it is installed, or it is required.
    public var testsRun: Bool { path != nil || Self.areRequired }

    /// Why the tests were skipped, in one line.
    public var skipReason: String {
        "\(name) is not installed: `apt-get install \(debianPackage)` runs these tests (required when CI=true or TESSERA_REQUIRE_PEERS=1)"
    }

    /// The program's path, or an error saying how to install it (for a test that runs where it is required).
    public func require() throws -> String {
        guard let path else { throw Missing(program: self) }
        return path
    }

    public struct Missing: Error, CustomStringConvertible {
        public let program: PeerProgram
        public var description: String {
            "\(program.name) is not installed and the peer tests are required here (CI=true or TESSERA_REQUIRE_PEERS=1): apt-get install \(program.debianPackage)"
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where every program is installed, or where they are required;
    /// otherwise skips it, naming what to install.
    public static func requires(_ programs: PeerProgram...) -> Self {
        let missing = programs.filter { $0.path == nil }
        let reason = missing.map(\.skipReason).joined(separator: "; ")
        return .enabled(if: missing.isEmpty || PeerProgram.areRequired, Comment(rawValue: reason))
    }
}
