import NIOCore
import Synchronization

/// Paces what a peer sends by what this node has processed: cell messages
/// handed to the shards and not yet stepped are counted in bytes, and past
/// the bound the connection stops reading (TCP then pushes back on the peer)
/// until the shards are through half of it. Without this, a peer faster than
/// this node's shards filled their task queues without limit.
final class InboundPacer: Sendable {
    let channel: any Channel
    let bytesMaximum: Int
    private let state = Mutex<(bytes: Int, paused: Bool)>((0, false))

    init(channel: any Channel, bytesMaximum: Int) {
        self.channel = channel
        self.bytesMaximum = bytesMaximum
    }

    /// Counts bytes handed on (on the channel's loop).
    func handedOn(_ bytes: Int) {
        let pause = state.withLock { state -> Bool in
            state.bytes += bytes
            guard state.bytes > bytesMaximum, !state.paused else { return false }
            state.paused = true
            return true
        }
        if pause { channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
    }

    /// Counts bytes processed (on any thread).
    func processed(_ bytes: Int) {
        let resume = state.withLock { state -> Bool in
            state.bytes -= bytes
            assert(state.bytes >= 0, "processed more bytes than were handed on")
            guard state.paused, state.bytes <= bytesMaximum / 2 else { return false }
            state.paused = false
            return true
        }
        guard resume else { return }
        channel.eventLoop.execute { [self] in
            // Paused again meanwhile (the decoder still held frames): stay paused.
            guard !isPaused else { return }
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            channel.read()
        }
    }

    var bytesInFlight: Int { state.withLock { $0.bytes } }
    /// While paused this node reads nothing from the peer: its silence is ours.
    var isPaused: Bool { state.withLock { $0.paused } }
}
