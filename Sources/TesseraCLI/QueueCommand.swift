import ArgumentParser
import Cell
import Client
import CommandSupport
import Foundation
import Keyspace
import Wire

/// `tessera queue`: the lnr memory, MemoryDB's fenced journal on a cluster.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Append to, read, trim and fence queues (lnr keys).",
        discussion: """
            A queue is named by an lnr key without a sort key: account/resource/lnr/name.
            Appends get dense, increasing sequence numbers from 1; each is replicated
            through the queue's cell before it is acknowledged, staged in the page store
            and then gathered by every replica into checksummed extents of up to 32 MiB
            in its --lnr-dir. A payload is at most 1 MiB.

            Fencing (MemoryDB's journal): set-leader names the queue's leader, and an
            append with --leader is refused ("fenced", exit 2) unless that is the
            leader and, when it holds the queue's lease, its lease still runs. Leases
            are judged by the clock of the queue's cell leader; another holder may take
            a lease only after its deadline plus a clock-drift margin (2% of the lease).

            Exit statuses: 2 fenced, leader mismatch, lease held or expired; 1 unknown
            queue, or entries trimmed; 64 bad input (key, payload over 1 MiB, sequence
            past the queue's last); 69 no answer.

            Examples:
              tessera queue append acme/orders/lnr/eu "first order"
              tessera queue read acme/orders/lnr/eu --from 1 --max 10
              tessera queue read acme/orders/lnr/eu --from 2 --wait 30
              tessera queue tail acme/orders/lnr/eu
              tessera queue lease take acme/orders/lnr/eu primary-a --seconds 10
              tessera queue set-leader acme/orders/lnr/eu primary-a
              tessera queue append acme/orders/lnr/eu "second" --leader primary-a
              tessera queue commit acme/orders/lnr/eu billing 2
              tessera queue position acme/orders/lnr/eu billing
              tessera queue trim acme/orders/lnr/eu --through 1
            """,
        subcommands: [Append.self, Read.self, Tail.self, Trim.self, SetLeader.self, Lease.self, Commit.self, Position.self]
    )

    static func queueKey(_ text: String) throws -> Key {
        let key = try LocalStore.parseKey(text)
        guard key.type == .lnr, key.sortKey.isEmpty else {
            throw commandFailure("\(text) is not a queue key: a queue is named account/resource/lnr/name (type lnr, no sort key)",
                                 status: ExitStatus.badInput)
        }
        return key
    }

    struct Append: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append one entry; prints its sequence number (seq N).",
            discussion: "With --leader, the append is fenced: refused with exit 2, naming the current leader, unless ID is the queue's leader (and its lease, if it holds one, still runs). Nothing is appended when refused.")

        @Argument(help: "The queue, as account/resource/lnr/name.") var queue: String
        @Argument(help: "The payload (at most 1 MiB), or - to read it from standard input.") var payload: String
        @Option(name: .customLong("leader"), help: ArgumentHelp("Append only as this leader (fenced).", valueName: "id")) var leader: String?
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let key = try QueueCommand.queueKey(queue)
            let bytes = payload == "-" ? Array(try FileHandle.standardInput.readToEnd() ?? Data()) : Array(payload.utf8)
            guard bytes.count <= QueueLimits.payloadBytesMaximum else {
                throw commandFailure("the payload is \(bytes.count) bytes; the limit is \(QueueLimits.payloadBytesMaximum) (1 MiB); nothing was appended",
                                     status: ExitStatus.badInput)
            }
            let sequence = try await withCluster(endpoint, write: true) { try await $0.append(key, payload: bytes, leader: leader) }
            writeLine(json ? encodeJSON(["sequence": sequence]) : "seq \(sequence)")
        }
    }

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print entries as seq<TAB>payload lines.",
            discussion: """
                A payload is printed as text with %, control bytes and bytes that are not UTF-8
                written %XX (so each entry is one line); --json prints one object per entry with
                "payloadBase64". Reading below the trim point exits 1 naming the first entry
                still readable. --wait long-polls: when no entry at or after --from exists yet,
                it asks again until one arrives or the seconds pass (then prints nothing).
                """)

        @Argument(help: "The queue, as account/resource/lnr/name.") var queue: String
        @Option(help: ArgumentHelp("The first sequence to read (default: the first still readable).", valueName: "seq")) var from: UInt64?
        @Option(help: ArgumentHelp("At most this many entries (1 to \(QueueLimits.readCountMaximum); also about 4 MiB).", valueName: "n")) var max = 100
        @Option(help: ArgumentHelp("Wait up to this long for an entry when there is none yet.", valueName: "seconds")) var wait: Double = 0
        @OptionGroup var consistency: ConsistencyOption
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print one JSON object per entry.") var json = false

        func run() async throws {
            let key = try QueueCommand.queueKey(queue)
            if from == 0 { throw commandFailure("--from 0: sequence numbers start at 1", status: ExitStatus.badInput) }
            guard wait >= 0, wait <= 3_600 else { throw commandFailure("--wait takes 0 to 3600 seconds, not \(wait)", status: ExitStatus.badInput) }
            let level = consistency.readConsistency
            let page = try await withCluster(endpoint) {
                try await $0.readQueue(key, from: from, maximum: max, wait: .milliseconds(Int64(wait * 1_000)), consistency: level)
            }
            for entry in page.entries {
                if json {
                    writeLine(encodeJSON(EntryJSON(sequence: entry.sequence, payload: String(validating: entry.payload, as: UTF8.self),
                                                   payloadBase64: Data(entry.payload).base64EncodedString())))
                } else {
                    writeLine("\(entry.sequence)\t\(Self.printable(entry.payload))")
                }
            }
        }

        struct EntryJSON: Encodable {
            var sequence: UInt64
            var payload: String?
            var payloadBase64: String
        }

        /// The payload on one line: `%`, control bytes and bytes that are not UTF-8 as %XX.
        static func printable(_ payload: [UInt8]) -> String {
            var output = ""
            func escape(_ bytes: ArraySlice<UInt8>) {
                for byte in bytes { output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2) }
            }
            // The parser says how many bytes each scalar, or each invalid run, took: the invalid bytes themselves are escaped.
            var parser = Unicode.UTF8.ForwardParser()
            var bytes = payload.makeIterator()
            var offset = 0
            while true {
                switch parser.parseScalar(from: &bytes) {
                case .valid(let encoded):
                    let scalar = Unicode.UTF8.decode(encoded)
                    if scalar == "%" || scalar.value < 0x20 || scalar.value == 0x7f {
                        escape(payload[offset..<offset + encoded.count])
                    } else {
                        output.unicodeScalars.append(scalar)
                    }
                    offset += encoded.count
                case .error(let length):
                    escape(payload[offset..<offset + length])
                    offset += length
                case .emptyInput:
                    return output
                }
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the queue's last sequence number (0 when nothing was appended).",
            discussion: "--json adds the trim point, the leader and the lease.")

        @Argument(help: "The queue, as account/resource/lnr/name.") var queue: String
        @OptionGroup var consistency: ConsistencyOption
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let key = try QueueCommand.queueKey(queue)
            let level = consistency.readConsistency
            let status = try await withCluster(endpoint) { try await $0.queueStatus(key, consistency: level) }
            guard json else { return writeLine("\(status.lastSequence)") }
            writeLine(encodeJSON(StatusJSON(lastSequence: status.lastSequence, trimmedThrough: status.trimmedThrough, leader: status.leader,
                                            leaseHolder: status.leaseHolder,
                                            leaseDeadline: status.leaseHolder == nil ? nil : TesseraClient.timeText(status.leaseDeadlineMilliseconds),
                                            leaseDeadlineMilliseconds: status.leaseHolder == nil ? nil : status.leaseDeadlineMilliseconds)))
        }

        struct StatusJSON: Encodable {
            var lastSequence: UInt64
            var trimmedThrough: UInt64
            var leader: String?
            var leaseHolder: String?
            var leaseDeadline: String?
            var leaseDeadlineMilliseconds: UInt64?
        }
    }

    struct Trim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget every entry through a sequence number; whole extents are freed.",
            discussion: "Reading below the trim point then exits 1. Trimming past the last entry is refused (exit 64). Each node frees the staged entries and whole extents the trim covers within a few seconds.")

        @Argument(help: "The queue, as account/resource/lnr/name.") var queue: String
        @Option(help: ArgumentHelp("The last sequence to forget.", valueName: "seq")) var through: UInt64
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let key = try QueueCommand.queueKey(queue)
            if through == 0 { throw commandFailure("--through 0 trims nothing: sequence numbers start at 1", status: ExitStatus.badInput) }
            let point = try await withCluster(endpoint, write: true) { try await $0.trimQueue(key, through: through) }
            writeLine(json ? encodeJSON(["trimmedThrough": point]) : "trimmed through \(point)")
        }
    }

    struct SetLeader: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-leader",
            abstract: "Make an id the queue's leader; prints the current leader.",
            discussion: "With --expected, only if OLD is the leader now: otherwise nothing changes, the current leader is printed and the exit status is 2. Appends fenced with another --leader are refused from then on.")

        @Argument(help: "The queue, as account/resource/lnr/name.") var queue: String
        @Argument(help: "The new leader's id.") var leader: String
        @Option(help: ArgumentHelp("Change only if this is the leader now.", valueName: "old")) var expected: String?
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let key = try QueueCommand.queueKey(queue)
            let change = try await withCluster(endpoint, write: true) { try await $0.setQueueLeader(key, to: leader, expected: expected) }
            switch change {
            case .set(let previous):
                writeLine(json ? encodeJSON(LeaderJSON(leader: leader, previous: previous, changed: true)) : "leader \(leader)")
            case .mismatch(let current):
                writeLine(json ? encodeJSON(LeaderJSON(leader: current, previous: nil, changed: false)) : "leader \(current ?? "none")")
                throw commandFailure("leader mismatch: the leader is \(current ?? "nobody"), not \(expected ?? "?"); nothing changed",
                                     status: ExitStatus.conditionFailed)
            }
        }

        struct LeaderJSON: Encodable {
            var leader: String?
            var previous: String?
            var changed: Bool
        }
    }

    struct Lease: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take or renew the queue's lease.",
            discussion: "take: granted unless another holder's lease still runs (exit 2, naming it). renew: extends a running lease; one that ran out must be taken again (exit 2). Prints the holder and the deadline (UTC, on the cell leader's clock).")

        enum Action: String, ExpressibleByArgument, CaseIterable { case take, renew }

        @Argument(help: "take or renew.") var action: Action
        @Argument(help: "The queue, as account/resource/lnr/name.") var queue: String
        @Argument(help: "Who holds the lease.") var holder: String
        @Option(help: ArgumentHelp("How long the lease lasts (up to \(QueueLimits.leaseSecondsMaximum)).", valueName: "s")) var seconds: Double
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let key = try QueueCommand.queueKey(queue)
            guard seconds > 0, seconds <= Double(QueueLimits.leaseSecondsMaximum) else {
                throw commandFailure("--seconds takes more than 0 and at most \(QueueLimits.leaseSecondsMaximum), not \(seconds)", status: ExitStatus.badInput)
            }
            let lease = try await withCluster(endpoint, write: true) { client in
                action == .take ? try await client.takeQueueLease(key, holder: holder, seconds: seconds)
                    : try await client.renewQueueLease(key, holder: holder, seconds: seconds)
            }
            let deadline = TesseraClient.timeText(lease.deadlineMilliseconds)
            writeLine(json ? encodeJSON(LeaseJSON(holder: lease.holder, deadline: deadline, deadlineMilliseconds: lease.deadlineMilliseconds))
                : "holder \(lease.holder) until \(deadline)")
        }

        struct LeaseJSON: Encodable {
            var holder: String
            var deadline: String
            var deadlineMilliseconds: UInt64
        }
    }

    struct Commit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that a consumer group has consumed every entry through a sequence number.",
            discussion: "Groups let several consumers share one queue: each reads from its group's position + 1 and commits what it finished. A sequence past the queue's last is refused (exit 64).")

        @Argument(help: "The queue, as account/resource/lnr/name.") var queue: String
        @Argument(help: "The consumer group.") var group: String
        @Argument(help: "The last sequence consumed.") var sequence: UInt64
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let key = try QueueCommand.queueKey(queue)
            if sequence == 0 { throw commandFailure("sequence 0 is before the first entry: sequence numbers start at 1", status: ExitStatus.badInput) }
            try await withCluster(endpoint, write: true) { try await $0.commitQueuePosition(key, group: group, sequence: sequence) }
            writeLine(json ? encodeJSON(PositionJSON(group: group, position: sequence)) : "committed \(group) through \(sequence)")
        }
    }

    struct Position: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a consumer group's committed position (0 when it never committed).")

        @Argument(help: "The queue, as account/resource/lnr/name.") var queue: String
        @Argument(help: "The consumer group.") var group: String
        @OptionGroup var consistency: ConsistencyOption
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let key = try QueueCommand.queueKey(queue)
            let level = consistency.readConsistency
            let position = try await withCluster(endpoint) { try await $0.queuePosition(key, group: group, consistency: level) }
            writeLine(json ? encodeJSON(PositionJSON(group: group, position: position ?? 0)) : "\(position ?? 0)")
        }
    }

    struct PositionJSON: Encodable {
        var group: String
        var position: UInt64
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
