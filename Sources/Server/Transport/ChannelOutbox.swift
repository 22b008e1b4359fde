import NIOCore
import Synchronization
import Wire

/// Frames bound for one channel, from any thread, written together once per
/// pass of the channel's event loop: a burst of replies or cell messages
/// costs one hop to that loop and one write system call, not one of each per
/// frame (under load, most of a node's time went to those).
///
/// Bounded in bytes. Frames are handed to the channel only while it is
/// writable, so a reader that stops reading holds at most `bytesMaximum` here
/// plus the channel's high-water mark. What happens at the bound depends on
/// the other end:
/// - a peer (`.dropNewest`): new cell messages are dropped; consensus
///   retransmits what a follower still lacks, paced by its acknowledgements;
/// - a client (`.stopReading`): its replies cannot be dropped, so the
///   connection stops reading requests until its replies drain (TCP pushes
///   back on the client), and requests in flight are capped per connection.
final class ChannelOutbox: Sendable {
    enum WhenFull: Sendable { case dropNewest, stopReading }

    let channel: any Channel
    let bytesMaximum: Int
    let whenFull: WhenFull
    /// Client connections: requests handed to the shards and not yet answered.
    let requestsInFlightMaximum: Int

    private struct State {
        var frames: [(frame: Frame, bytes: Int)] = []
        var firstFrame = 0
        var bytes = 0
        var drainScheduled = false
        var readingStopped = false
        var requestsInFlight = 0
        var framesDropped: UInt64 = 0
    }
    private let state = Mutex(State())

    init(channel: any Channel, bytesMaximum: Int, whenFull: WhenFull, requestsInFlightMaximum: Int = 0) {
        precondition(bytesMaximum > 0, "an outbox needs room for at least one frame")
        self.channel = channel
        self.bytesMaximum = bytesMaximum
        self.whenFull = whenFull
        self.requestsInFlightMaximum = requestsInFlightMaximum
    }

    /// Queues frames; returns false when a full peer outbox dropped them.
    @discardableResult
    func send(_ frames: [Frame]) -> Bool {
        guard !frames.isEmpty else { return true }
        let sized = frames.map { ($0, Self.estimatedBytes($0)) }
        let (accepted, mustSchedule, mustStopReading) = state.withLock { state -> (Bool, Bool, Bool) in
            let adding = sized.reduce(0) { $0 + $1.1 }
            // An empty outbox takes a frame of any size: one oversized message still moves.
            if whenFull == .dropNewest && state.bytes > 0 && state.bytes + adding > bytesMaximum {
                state.framesDropped += UInt64(frames.count)
                return (false, false, false)
            }
            state.frames.append(contentsOf: sized)
            state.bytes += adding
            var stop = false
            if whenFull == .stopReading && state.bytes > bytesMaximum && !state.readingStopped {
                state.readingStopped = true
                stop = true
            }
            guard !state.drainScheduled else { return (true, false, stop) }
            state.drainScheduled = true
            return (true, true, stop)
        }
        // Reading is switched on the loop only, from the state as it is then, so
        // a late switch can never undo a later decision.
        if mustStopReading { channel.eventLoop.execute { self.applyReading() } }
        if mustSchedule { channel.eventLoop.execute { self.drain() } }
        return accepted
    }

    @discardableResult
    func send(_ frame: Frame) -> Bool { send([frame]) }

    /// A reply to a request admitted by ``admitRequest()``.
    func sendReply(_ frame: Frame) {
        state.withLock { $0.requestsInFlight -= 1 }
        send(frame)
    }

    /// Counts a client request in; false when the connection already has as
    /// many in flight as allowed, or replies beyond its bound waiting for the
    /// client to read them (the caller answers it with a small `overloaded`).
    func admitRequest() -> Bool {
        state.withLock { state in
            guard state.requestsInFlight < requestsInFlightMaximum, state.bytes <= bytesMaximum else { return false }
            state.requestsInFlight += 1
            return true
        }
    }

    var bytesQueued: Int { state.withLock { $0.bytes } }
    var framesDropped: UInt64 { state.withLock { $0.framesDropped } }

    /// Writes queued frames while the channel takes them; called again when it
    /// becomes writable.
    func drain() {
        channel.eventLoop.assertInEventLoop()
        var wrote = false
        while channel.isWritable || !channel.isActive {
            let next = state.withLock { state -> Frame? in
                guard state.firstFrame < state.frames.count else {
                    state.frames = []
                    state.firstFrame = 0
                    state.drainScheduled = false
                    return nil
                }
                let (frame, bytes) = state.frames[state.firstFrame]
                state.firstFrame += 1
                state.bytes -= bytes
                if state.firstFrame >= 1024 {
                    state.frames.removeFirst(state.firstFrame)
                    state.firstFrame = 0
                }
                return frame
            }
            guard let next else { break }
            channel.write(next, promise: nil)
            wrote = true
        }
        if wrote { channel.flush() }
        let resume = state.withLock { state -> Bool in
            if state.firstFrame < state.frames.count { state.drainScheduled = false }  // writability will call again
            guard state.readingStopped, state.bytes <= bytesMaximum / 2 else { return false }
            state.readingStopped = false
            return true
        }
        if resume { applyReading() }
    }

    /// Sets the channel's reading to what the state says now (on the loop).
    private func applyReading() {
        channel.eventLoop.assertInEventLoop()
        let reading = state.withLock { !$0.readingStopped }
        channel.setOption(ChannelOptions.autoRead, value: reading).whenComplete { _ in }
        if reading { channel.read() }
    }

    /// About how many bytes a frame takes encoded: what the bounds count.
    static func estimatedBytes(_ frame: Frame) -> Int {
        switch frame {
        case .cellMessages(let envelopes): 16 + envelopes.reduce(0) { $0 + $1.estimatedBytes }
        case .response(let response):
            switch response.body {
            case .item(let item): 64 + (item.map { $0.value.count + $0.sortKey.count } ?? 0)
            case .page(let items, _): 64 + items.reduce(0) { $0 + 24 + $1.value.count + $1.sortKey.count }
            case .error(_, let message): 64 + message.utf8.count
            default: 256
            }
        case .snapshotTransfer(let transfer): transfer.estimatedBytes
        case .hello, .heartbeat, .request: 64
        }
    }
}
