import Cell
import CellHost
import Foundation
import Storage
import Wire

/// Snapshots travel beside consensus, not inside it: a leader's replica says
/// `installSnapshot`, and the shard streams the snapshot's file to the peer in
/// chunks (``SnapshotUpload``). The peer stages them (``SnapshotDownload``)
/// and, once all arrived intact, steps its replica with the install message.
/// A cell's snapshot is as large as the cell: it never travels as one message
/// and is never held whole in a message buffer.
extension Shard {
    struct UploadKey: Hashable {
        let cell: UInt64
        let peer: NodeID
    }

    /// Queues a replica's message for `peer`; a snapshot goes as a stream instead.
    func queue(_ message: CellMessage, to peer: NodeID, from hosted: ShardCell) {
        if case .installSnapshot(let ballot, let snapshot, let sentAt) = message {
            offerSnapshot(snapshot, ballot: ballot, sentAt: sentAt, to: peer, from: hosted)
        } else {
            outgoing[peer, default: []].append(CellEnvelope(cell: hosted.cell, message: message))
        }
    }

    // MARK: Leader side

    /// The replica sends its snapshot (again): start streaming it, or go on with
    /// the stream already under way (resuming it if it stalled).
    private func offerSnapshot(_ snapshot: Snapshot, ballot: Ballot, sentAt: Instant, to peer: NodeID, from hosted: ShardCell) {
        guard let descriptor = SnapshotDescriptor(decoding: snapshot.state),
            FileManager.default.fileExists(atPath: descriptor.path)
        else {
            // A snapshot this node received and installed is no longer on disk: the replica asks for a fresh one.
            hosted.replica.releaseSnapshot()
            return
        }
        let identity = SnapshotIdentity(cell: hosted.cell, index: snapshot.index, ballot: snapshot.ballot,
                                        bytes: descriptor.bytes, checksum: descriptor.checksum)
        let key = UploadKey(cell: hosted.cell, peer: peer)
        if var upload = uploads[key], upload.identity == identity {
            upload.leaderBallot = ballot
            upload.sentAt = sentAt
            upload.resumeIfStalled(now: now)
            uploads[key] = upload
        } else {
            // Streams to followers that stopped answering make room.
            for (other, upload) in uploads where !upload.isComplete && now - upload.lastHeardAt >= SnapshotUpload.abandonedAfter {
                uploads[other] = nil
            }
            let sending = uploads.values.count { !$0.isComplete }
            guard sending < NodeLimits.snapshotUploadsPerShardMaximum || uploads[key] != nil else { return }
            uploads[key] = SnapshotUpload(peer: peer, identity: identity, path: descriptor.path, leaderBallot: ballot,
                                          sentAt: sentAt, configuration: snapshot.configuration, now: now)
            services.logger.info("snapshot stream started", metadata: [
                "cell": "\(String(hosted.cell, radix: 16))", "peer": "\(services.layout.member(peer).id)",
                "index": "\(snapshot.index)", "bytes": "\(descriptor.bytes)"])
        }
        sendDueChunks(key)
    }

    /// Sends what the upload's window allows, read from its file.
    private func sendDueChunks(_ key: UploadKey) {
        guard var upload = uploads[key] else { return }
        let ranges = upload.due()
        uploads[key] = upload
        for range in ranges {
            let bytes: [UInt8]
            do {
                bytes = try services.snapshotFiles.read(upload.path, offset: range.lowerBound, count: Int(range.count))
            } catch {
                services.logger.warning("snapshot stream stopped", metadata: ["error": "\(error)"])
                uploads[key] = nil
                return
            }
            guard bytes.count == range.count else {
                services.logger.warning("snapshot stream stopped: its file is shorter than it was", metadata: ["path": "\(upload.path)"])
                uploads[key] = nil
                return
            }
            let chunk = SnapshotChunk(identity: upload.identity, leaderBallot: upload.leaderBallot, sentAt: upload.sentAt,
                                      configuration: upload.configuration, offset: range.lowerBound, bytes: bytes)
            services.transport.send(.chunk(chunk), to: key.peer)
        }
    }

    /// The index of a snapshot of this cell being written, or being streamed
    /// to a follower that confirmed a chunk lately: the log is not compacted
    /// past it, or the snapshot would be of no use when it arrives. A stream
    /// that went quiet holds nothing (the follower may be gone).
    func snapshotIndexInUse(_ hosted: ShardCell) -> LogIndex? {
        // Holding the log back is bounded too: past it, the snapshot is given up (the follower asks again).
        guard hosted.appliedBytesSinceSnapshot <= NodeLimits.snapshotHeldLogBytesMaximum else {
            hosted.snapshotBuild?.cancel()
            hosted.snapshotBuild = nil
            return nil
        }
        if let build = hosted.snapshotBuild { return build.index }
        let time = now
        let streaming = uploads.values.filter { upload in
            upload.identity.cell == hosted.cell && !upload.isComplete
                && time - upload.lastHeardAt < SnapshotUpload.stallTimeout * 5
        }
        return streaming.map(\.identity.index).min()
    }

    /// A leader's snapshot file goes once its replica let go of that snapshot
    /// (delivered, or replaced), with the streams still sending it.
    func forgetReleasedSnapshot(_ hosted: ShardCell) {
        guard let made = hosted.outgoingSnapshot, hosted.replica.snapshot?.state != made.encoded else { return }
        hosted.outgoingSnapshot = nil
        discardOutgoing(made, of: hosted.cell)
    }

    private func discardOutgoing(_ made: SnapshotDescriptor, of cell: UInt64) {
        services.snapshotFiles.remove(made.path)
        for (key, upload) in uploads where key.cell == cell && upload.path == made.path { uploads[key] = nil }
    }

    /// A follower is behind this replica's log: the cell's state at the
    /// applied index becomes a snapshot file, written from the page store on
    /// the node's snapshot thread while the cell goes on (see ``SnapshotBuild``).
    func provideSnapshot(_ hosted: ShardCell) {
        // One build per cell at a time: when it ends, the replica has its snapshot. And a few per
        // shard: each holds pre-images and its cell's log (a replica not served now asks again).
        guard hosted.snapshotBuild == nil,
            cells.values.count(where: { $0.snapshotBuild != nil }) < NodeLimits.snapshotBuildsPerShardMaximum else { return }
        // Only the state at the replica's applied index will do (a snapshot installed
        // meanwhile may have moved the replica ahead: then a later ready asks again).
        guard hosted.stateMachine.appliedIndex == hosted.replica.appliedIndex,
            !hosted.stateMachine.hasPendingWrites else { return }
        let build = SnapshotBuild(cell: hosted.cell, index: hosted.stateMachine.appliedIndex)
        hosted.snapshotBuild = build
        var withExtents = hosted.stateMachine.snapshotSource
        let extents = services.extents
        withExtents.queueExtents = { extent, from, count, bytes in
            try extents.entries(extent, from: from, countMaximum: count, bytesMaximum: bytes)
        }
        let source = withExtents
        let files = services.snapshotFiles
        services.snapshotQueue.async { [self] in
            let result = Result { try files.writeOutgoing(build, from: source) }
            loop.execute { [self] in finishBuild(build, of: hosted, result) }
        }
    }

    private func finishBuild(_ build: SnapshotBuild, of hosted: ShardCell, _ result: Result<SnapshotDescriptor, any Error>) {
        guard hosted.snapshotBuild === build, !stopping else {
            if case .success(let descriptor) = result { services.snapshotFiles.remove(descriptor.path) }
            return
        }
        hosted.snapshotBuild = nil
        let descriptor: SnapshotDescriptor
        switch result {
        case .success(let made): descriptor = made
        case .failure(let error as SnapshotBuildCancelled): _ = error; return
        case .failure(let error as SnapshotFileError):
            // The snapshot folder failed (full, say), not the store: the follower asks again later.
            services.logger.warning("snapshot not made", metadata: ["cell": "\(String(hosted.cell, radix: 16))", "error": "\(error)"])
            return
        case .failure(let error): stopOnStorageFailure(error, cell: hosted.cell)
        }
        if let previous = hosted.outgoingSnapshot { discardOutgoing(previous, of: hosted.cell) }
        hosted.outgoingSnapshot = descriptor
        services.logger.info("snapshot made for a follower", metadata: [
            "cell": "\(String(hosted.cell, radix: 16))", "index": "\(build.index)", "bytes": "\(descriptor.bytes)"])
        hosted.replica.provideSnapshot(state: descriptor.encoded, index: build.index, now: now)
        drive(hosted)
        finishPassSoon()
    }

    /// Before the cell's writes reach the store, a build under way keeps what they overwrite.
    func recordPreimages(of updates: [ItemUpdate], _ hosted: ShardCell) {
        guard let build = hosted.snapshotBuild else { return }
        do {
            try hosted.stateMachine.recordPreimages(of: updates, into: build)
        } catch {
            stopOnStorageFailure(error, cell: hosted.cell)
        }
        if build.preimageBytes > NodeLimits.snapshotPreimageBytesMaximum {
            // The cell changes faster than its snapshot is written: give up; the follower asks again.
            services.logger.warning("snapshot given up: the cell changed too much while it was written", metadata: [
                "cell": "\(String(hosted.cell, radix: 16))", "index": "\(build.index)", "preimageBytes": "\(build.preimageBytes)"])
            build.cancel()
            hosted.snapshotBuild = nil
        }
    }

    // MARK: Follower side

    func receive(_ transfer: SnapshotTransfer, from peer: NodeID) {
        guard !stopping else { return }
        switch transfer {
        case .progress(let progress):
            let key = UploadKey(cell: progress.identity.cell, peer: peer)
            guard var upload = uploads[key], upload.identity == progress.identity else { return }
            let completed = upload.heard(received: progress.receivedBytes, now: now)
            uploads[key] = upload
            if upload.isComplete {
                // Kept (without sending) until the replica lets go of the snapshot: its retransmits are not new streams.
                guard completed else { return }
                services.logger.info("snapshot stream delivered", metadata: [
                    "cell": "\(String(key.cell, radix: 16))", "peer": "\(services.layout.member(peer).id)",
                    "bytes": "\(upload.identity.bytes)"])
            } else {
                sendDueChunks(key)
            }
        case .chunk(let chunk):
            take(chunk, from: peer)
        }
    }

    private func take(_ chunk: SnapshotChunk, from peer: NodeID) {
        let identity = chunk.identity
        guard let hosted = cell(identity.cell) else { return }
        // A deposed leader's stream goes no further: it is told the ballot that replaced it, as an install would be.
        guard chunk.leaderBallot >= hosted.replica.hardState.ballot else {
            queue(.accepted(ballot: hosted.replica.hardState.ballot, success: false, matchIndex: 0, sentAt: chunk.sentAt),
                  to: peer, from: hosted)
            finishPassSoon()
            return
        }
        // The snapshot was received and handed to the replica a moment ago: a late resend is not a new stream.
        if let (received, at) = receivedSnapshots[identity.cell], received == identity, now - at < SnapshotUpload.redeliveryDelay {
            return
        }
        let download: SnapshotDownload
        if let current = downloads[identity.cell], current.identity == identity {
            download = current
        } else {
            // A stream starts at its first byte; a later chunk means this side lost its staging (or it is a
            // duplicate after the end): the sender is told to start over, if it still sends this snapshot.
            guard chunk.offset == 0 else {
                services.transport.send(.progress(SnapshotProgress(identity: identity, receivedBytes: 0)), to: peer)
                return
            }
            if let stale = downloads.removeValue(forKey: identity.cell) { services.snapshotFiles.remove(stale.path) }
            // Streams their leaders stopped sending (the replica caught up otherwise, or the leader moved) make room.
            for (cell, idle) in downloads where now - idle.lastChunkAt >= SnapshotDownload.abandonedAfter {
                downloads[cell] = nil
                services.snapshotFiles.remove(idle.path)
            }
            guard downloads.count < NodeLimits.snapshotDownloadsPerShardMaximum else { return }
            do {
                download = try SnapshotDownload(identity: identity, files: services.snapshotFiles, now: now)
            } catch {
                services.logger.warning("snapshot not received", metadata: ["cell": "\(String(identity.cell, radix: 16))", "error": "\(error)"])
                return
            }
            downloads[identity.cell] = download
        }
        let outcome: SnapshotDownload.Outcome
        do {
            outcome = try download.take(chunk, now: now)
        } catch {
            // The snapshot folder failed (full, say): the staging goes, and the leader starts over when asked.
            services.logger.warning("snapshot not received", metadata: ["cell": "\(String(identity.cell, radix: 16))", "error": "\(error)"])
            downloads[identity.cell] = nil
            services.snapshotFiles.remove(download.path)
            return
        }
        switch outcome {
        case .duplicate:
            break
        case .holding(let received):
            services.transport.send(.progress(SnapshotProgress(identity: identity, receivedBytes: received)), to: peer)
        case .corrupt(let found):
            services.logger.warning("a snapshot arrived with the wrong checksum; asking for it again", metadata: [
                "cell": "\(String(identity.cell, radix: 16))", "expected": "\(identity.checksum)", "found": "\(found)"])
            downloads[identity.cell] = nil
            services.snapshotFiles.remove(download.path)
            services.transport.send(.progress(SnapshotProgress(identity: identity, receivedBytes: 0)), to: peer)
        case .complete:
            downloads[identity.cell] = nil
            receivedSnapshots[identity.cell] = (identity, now)
            services.transport.send(.progress(SnapshotProgress(identity: identity, receivedBytes: identity.bytes)), to: peer)
            services.logger.info("snapshot received", metadata: [
                "cell": "\(String(identity.cell, radix: 16))", "index": "\(identity.index)", "bytes": "\(identity.bytes)"])
            let snapshot = Snapshot(index: identity.index, ballot: identity.ballot, configuration: chunk.configuration,
                                    state: download.descriptorForInstall.encoded)
            hosted.replica.step(.installSnapshot(ballot: chunk.leaderBallot, snapshot: snapshot, sentAt: chunk.sentAt),
                                from: peer, now: now)
            // The install (if the replica takes it) moves the file aside in this drive.
            drive(hosted)
            services.snapshotFiles.remove(download.path)
            finishPassSoon()
        }
    }
}
