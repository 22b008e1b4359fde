import ArgumentParser
import Server

/// Where a node keeps queue extents, and how large it makes them (`serve`, passed on by `dev`).
struct QueueStorageOptions: ParsableArguments {
    @Option(name: .customLong("lnr-dir"),
            help: ArgumentHelp("Folder for queue extents (may be on an HDD: extents are written sequentially). Default: lnr in --data-dir.",
                               valueName: "path"))
    var lnrDirectory: String?

    @Option(name: .customLong("extent-bytes"),
            help: "Staged payload bytes of one queue gathered into one extent: 1MiB to 32MiB.")
    var extentBytes = ByteCount(NodeConfiguration.extentTargetBytesDefault)

    func validate() throws {
        guard (1 << 20...32 << 20).contains(extentBytes.bytes) else {
            throw ValidationError("--extent-bytes takes 1MiB to 32MiB, not \(extentBytes)")
        }
    }

    func apply(to configuration: inout NodeConfiguration) {
        configuration.lnrDirectory = lnrDirectory
        configuration.extentTargetBytes = extentBytes.bytes
    }
}
