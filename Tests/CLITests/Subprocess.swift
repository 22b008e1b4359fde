import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The package's built executables, found next to the test bundle (`.build/debug`).
enum BuiltExecutable {
    struct Missing: Error, CustomStringConvertible {
        let name: String
        let searched: [String]
        var description: String {
            "executable '\(name)' not found; build it first with `swift build` (looked in: \(searched.joined(separator: ", ")))"
        }
    }

    /// Folders that may hold the executables, most specific first.
    static var searchFolders: [URL] {
        var folders: [URL] = []
        // The test bundle (Linux: an executable; macOS: a .xctest bundle) sits in the build folder.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            folders.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let main = Bundle.main.executableURL { folders.append(main.resolvingSymlinksInPath().deletingLastPathComponent()) }
        let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        folders.append(argument0.deletingLastPathComponent())
        // The package root, from this file: Tests/CLITests/Subprocess.swift.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        folders.append(root.appendingPathComponent(".build/debug"))
        return folders
    }

    static func url(_ name: String) throws -> URL {
        let folders = searchFolders
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Missing(name: name, searched: folders.map(\.path))
    }
}

/// What a finished subprocess left behind.
struct Finished {
    let status: Int32
    let standardOutput: Data
    let standardError: Data

    var output: String { String(decoding: standardOutput, as: UTF8.self) }
    var errorOutput: String { String(decoding: standardError, as: UTF8.self) }
}

/// A folder under the system's temporary directory, removed by `remove()`.
struct TemporaryFolder {
    let url: URL
    var path: String { url.path }

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Runs an executable to completion. Output goes through files, so a chatty child never blocks on a full pipe.
func runExecutable(
    _ executable: URL, _ arguments: [String], standardInput: Data? = nil, in directory: URL? = nil
) throws -> Finished {
    let scratch = try TemporaryFolder("run")
    defer { scratch.remove() }
    let outputURL = scratch.url.appendingPathComponent("stdout")
    let errorURL = scratch.url.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    let outputHandle = try FileHandle(forWritingTo: outputURL)
    let errorHandle = try FileHandle(forWritingTo: errorURL)
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.standardOutput = outputHandle
    process.standardError = errorHandle
    let input = Pipe()
    process.standardInput = standardInput == nil ? FileHandle.nullDevice : input
    try process.run()
    if let standardInput {
        try input.fileHandleForWriting.write(contentsOf: standardInput)
        try input.fileHandleForWriting.close()
    }
    process.waitUntilExit()
    try outputHandle.close()
    try errorHandle.close()
    return Finished(
        status: process.terminationStatus,
        standardOutput: try Data(contentsOf: outputURL), standardError: try Data(contentsOf: errorURL))
}
