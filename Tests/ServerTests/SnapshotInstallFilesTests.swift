import Cell
import CellHost
import Foundation
import Storage
import Testing
import Wire

@testable import Server

/// A snapshot a cell decided to install is moved aside and kept across a
/// restart until its install is durable; it is checked whenever it is opened.
@Suite struct SnapshotInstallFilesTests {
    static let state = CellSnapshotFormat.encode(
        collections: [(Array("acme/t/rnd/a".utf8), [Item(sortKey: [1], version: 3, value: [UInt8](repeating: 7, count: 5_000))])],
        sessions: [])

    /// Stages `state` as a download would, and returns the snapshot a replica would install.
    static func received(_ files: SnapshotFiles, cell: UInt64, index: LogIndex) throws -> Snapshot {
        let identity = SnapshotIdentity(cell: cell, index: index, ballot: Ballot(2), bytes: UInt64(state.count),
                                        checksum: CRC32C.checksum(state))
        let path = files.incomingPath(identity)
        let file = try files.create(path)
        try files.write(state, to: file, at: 0, path: path)
        file.close()
        let descriptor = SnapshotDescriptor(path: path, bytes: UInt64(state.count), checksum: CRC32C.checksum(state))
        return Snapshot(index: index, ballot: Ballot(2), configuration: [NodeID(1)], state: descriptor.encoded)
    }

    /// What the store would refuse is refused before the install writes anything.
    @Test func aSnapshotWithAValueTheStoreRefusesFailsValidation() throws {
        let oversize = CellSnapshotFormat.encode(
            collections: [(Array("acme/t/rnd/a".utf8), [Item(sortKey: [1], version: 3, value: [UInt8](repeating: 7, count: StorageLimits.valueBytesMaximum + 1))])],
            sessions: [])
        #expect(throws: CellCommand.DecodingError.self) { try PageCellState.validate(MemoryStateFile(bytes: oversize)) }
        try PageCellState.validate(MemoryStateFile(bytes: Self.state))
    }

    static func installingNames(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/installing").filter { $0.hasSuffix(".snapshot") }.sorted()
    }

    @Test func aRetainedSnapshotSurvivesARestartUntilReleasedAndIsCheckedWhenOpened() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-install-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var kept: [UInt8] = []
        do {
            let files = try SnapshotFiles(directory: directory)
            kept = try files.retain(try Self.received(files, cell: 5, index: 40), cell: 5)
            _ = try files.retain(try Self.received(files, cell: 6, index: 41), cell: 6)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/incoming").filter { $0.hasSuffix(".part") }.isEmpty)
            let file = try files.open(kept, cell: 5)
            #expect(try file.read(offset: 0, count: Self.state.count) == Self.state)
            try PageCellState.validate(file)
        }

        // A restart clears what was streaming, not what a cell is installing.
        let files = try SnapshotFiles(directory: directory)
        #expect(try Self.installingNames(directory) == ["5-40-2.snapshot", "6-41-2.snapshot"])
        let file = try files.open(kept, cell: 5)
        #expect(file.byteCount == Self.state.count)
        // Cell 6's install became durable before the crash (no cell opened it): its file goes.
        files.removeUnopenedInstallFiles()
        #expect(try Self.installingNames(directory) == ["5-40-2.snapshot"])

        // A flipped bit on disk is caught at the next open.
        let path = directory + "/installing/5-40-2.snapshot"
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[100] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: SnapshotInstallError.self) { try files.open(kept, cell: 5) }

        files.release(kept)
        #expect(try Self.installingNames(directory).isEmpty)
    }
}
