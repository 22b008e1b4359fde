import Foundation

/// The package's built executables, found next to the test bundle (`.build/debug`).
public enum BuiltExecutable {
    public struct Missing: Error, CustomStringConvertible {
        let name: String
        let searched: [String]
        public var description: String {
            "executable '\(name)' not found; build it first with `swift build` (looked in: \(searched.joined(separator: ", ")))"
        }
    }

    /// Folders that may hold the executables, most specific first.
    public static var searchFolders: [URL] {
        var folders: [URL] = []
        // The test bundle (Linux: an executable; macOS: a .xctest bundle) sits in the build folder.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            folders.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let main = Bundle.main.executableURL { folders.append(main.resolvingSymlinksInPath().deletingLastPathComponent()) }
        let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        folders.append(argument0.deletingLastPathComponent())
        // The package root, from this file: Sources/TestSupport/BuiltExecutable.swift.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        folders.append(root.appendingPathComponent(".build/debug"))
        return folders
    }

    public static func url(_ name: String) throws -> URL {
        let folders = searchFolders
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Missing(name: name, searched: folders.map(\.path))
    }
}

