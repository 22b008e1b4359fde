import NIOCore
import Synchronization
import Wire

/// Frames bound for one channel, from any thread, written together once per
/// pass of the channel's event loop: a burst of replies or cell messages
/// costs one hop to that loop and one write system call, not one of each per
/// frame (under load, most of a node's time went to those).
final class ChannelOutbox: Sendable {
    let channel: any Channel
    private let pending = Mutex<(frames: [Frame], drainScheduled: Bool)>(([], false))

    init(channel: any Channel) {
        self.channel = channel
    }

    func send(_ frame: Frame) {
        enqueue { $0.append(frame) }
    }

    func send(_ frames: [Frame]) {
        guard !frames.isEmpty else { return }
        enqueue { $0.append(contentsOf: frames) }
    }

    private func enqueue(_ add: (inout [Frame]) -> Void) {
        let mustSchedule = pending.withLock { pending -> Bool in
            add(&pending.frames)
            guard !pending.drainScheduled else { return false }
            pending.drainScheduled = true
            return true
        }
        if mustSchedule { channel.eventLoop.execute { self.drain() } }
    }

    private func drain() {
        let frames = pending.withLock { pending -> [Frame] in
            pending.drainScheduled = false
            defer { pending.frames = [] }
            return pending.frames
        }
        for frame in frames { channel.write(frame, promise: nil) }
        channel.flush()
    }
}
