import ArgumentParser
import Client
import CommandSupport
import Foundation
import Keyspace
import Synchronization

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a cluster's members, whether each is up, what it leads, and lagging replicas.",
        discussion: """
            Asks one node for the member list, then every member for its own status, all
            at once. A member that does not answer within 2 s is shown as down. Prints a
            table of members (address, zone, up/down, uptime, cells hosted and led, cells
            whose replica there knows no leader, peers it suspects are down), the replicas
            that lag behind their leader (the 20 furthest behind), and a summary line.
            Exit status 0 when every member answered, 69 otherwise (the table is printed
            either way); --json prints the same as one JSON object.

            Examples:
              tessera status                         # the `tessera dev` cluster
              tessera status --endpoint 10.0.0.5:7101 --json
            """
    )

    @OptionGroup var endpoint: EndpointOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    /// How long a member has to answer before it is shown as down.
    static let memberTimeout: Duration = .seconds(2)

    func run() async throws {
        let (endpoints, isDefault) = endpoint.resolved
        var options = try endpoint.clientOptions()
        options.deadline = .seconds(5)
        options.attemptTimeout = Self.memberTimeout
        options.connectTimeout = .seconds(1)
        let client = try await ClusterConnection.connect(endpoints: endpoints, isDefault: isDefault, options: options)
        let report: StatusReport
        do {
            let info = try await client.clusterInfo()
            let answers = await withTaskGroup(of: (String, Result<NodeStatus, any Error>).self) { group in
                for member in info.members {
                    group.addTask {
                        (member.id, await answerWithin(Self.memberTimeout) { try await client.nodeStatus(of: member.id) })
                    }
                }
                var answers: [String: Result<NodeStatus, any Error>] = [:]
                for await (id, answer) in group { answers[id] = answer }
                return answers
            }
            report = StatusReport(info: info, answers: answers)
        } catch {
            await client.close()
            throw ClusterConnection.failure(error, write: false)
        }
        await client.close()
        writeStandardOutput(json ? encodeJSON(report) + "\n" : report.text())
        let down = report.members.filter { !$0.up }.map(\.id)
        if !down.isEmpty {
            throw commandFailure(
                "\(down.count) of \(report.members.count) members did not answer: \(down.joined(separator: ", "))",
                status: ExitStatus.unavailable)
        }
    }
}

/// Why a member is shown as down when it did not answer in time.
struct NoAnswerInTime: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "no answer within \(limit.components.seconds) s" }
}

/// Runs `operation`, but gives up waiting after `limit` (the operation itself is left
/// to finish or fail on its own: the client's own timeouts end it soon after).
func answerWithin<T: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async -> Result<T, any Error> {
    await withCheckedContinuation { continuation in
        let once = ResumeOnce(continuation)
        Task {
            do { once.resume(.success(try await operation())) } catch { once.resume(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: limit)
            once.resume(.failure(NoAnswerInTime(limit: limit)))
        }
    }
}

/// A continuation that the first of several tasks resumes; the others are ignored.
private final class ResumeOnce<Value: Sendable>: Sendable {
    private let pending: Mutex<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) { pending = Mutex(continuation) }

    func resume(_ value: Value) {
        pending.withLock { continuation in
            continuation?.resume(returning: value)
            continuation = nil
        }
    }
}

/// What `tessera status` prints, as text or as one JSON object.
struct StatusReport: Encodable {
    struct Cluster: Encodable {
        var members: Int
        var cellDepth: Int
        var cells: Int
        var replicas: Int
        var placement: String
    }

    struct Member: Encodable {
        var id: String
        var address: String
        var zone: String
        var up: Bool
        /// Why the member is down.
        var error: String?
        var uptimeMilliseconds: UInt64?
        var cellsHosted: Int?
        var cellsLed: Int?
        var cellsWithoutLeader: Int?
        var suspectedPeers: [String]?
        var committedEntries: UInt64?
        var walBytes: UInt64?
    }

    struct Lagging: Encodable {
        /// The cell, as `depth/prefix-in-hex`.
        var cell: String
        var member: String
        var entriesBehind: UInt64
        /// The leader that reported it.
        var reportedBy: String
    }

    struct Summary: Encodable {
        var members: Int
        var membersUp: Int
        var cells: Int
        /// Sum over the members that answered (a cell changing leader may count twice).
        var cellsLed: Int
        var cellsWithoutLeader: Int
        var laggingReplicas: Int
        var suspectedPeers: [String]
    }

    var cluster: Cluster
    var members: [Member]
    var lagging: [Lagging]
    var summary: Summary

    static let laggingShown = 20

    init(info: ClusterInfo, answers: [String: Result<NodeStatus, any Error>]) {
        let depth = Int(info.cellDepth)
        let cells = depth < 63 ? 1 << depth : Int.max
        cluster = Cluster(members: info.members.count, cellDepth: depth, cells: cells, replicas: Int(info.replicas),
                          placement: info.placementForm)
        members = []
        lagging = []
        for member in info.members {
            var row = Member(id: member.id, address: member.address, zone: member.zone, up: false)
            switch answers[member.id] {
            case .success(let status):
                row.up = true
                row.uptimeMilliseconds = status.uptimeMilliseconds
                row.cellsHosted = Int(status.cellsHosted)
                row.cellsLed = Int(status.cellsLed)
                row.cellsWithoutLeader = Int(status.cellsWithoutLeader)
                row.suspectedPeers = status.suspectedPeers.sorted()
                row.committedEntries = status.committedEntries
                row.walBytes = status.walBytes
                for replica in status.lagging {
                    let cell = CellID(depth: depth, prefix: replica.cell)?.text ?? "0x" + String(replica.cell, radix: 16)
                    lagging.append(Lagging(cell: cell, member: replica.member, entriesBehind: replica.entriesBehind,
                                           reportedBy: member.id))
                }
            case .failure(let error):
                row.error = Self.reason(error)
            case nil:
                row.error = "not asked"
            }
            members.append(row)
        }
        lagging.sort { ($0.entriesBehind, $1.cell, $1.member) > ($1.entriesBehind, $0.cell, $0.member) }
        let up = members.filter(\.up)
        summary = Summary(
            members: members.count, membersUp: up.count, cells: cells,
            cellsLed: up.reduce(0) { $0 + ($1.cellsLed ?? 0) },
            cellsWithoutLeader: up.reduce(0) { $0 + ($1.cellsWithoutLeader ?? 0) },
            laggingReplicas: lagging.count,
            suspectedPeers: Array(Set(up.flatMap { $0.suspectedPeers ?? [] })).sorted())
    }

    /// A short reason for a member that did not answer.
    static func reason(_ error: any Error) -> String {
        if let error = error as? TesseraClientError { return error.message }
        return "\(error)"
    }

    func text() -> String {
        var out = "cluster: \(cluster.members) members, \(cluster.cells) cells (depth \(cluster.cellDepth)), "
            + "\(cluster.replicas) replicas per cell, \(cluster.placement) placement\n\n"
        var rows = [["MEMBER", "ADDRESS", "ZONE", "STATE", "UPTIME", "HOSTED", "LED", "NO LEADER", "SUSPECTS"]]
        for member in members {
            if member.up {
                rows.append([
                    member.id, member.address, member.zone, "up", Self.uptime(member.uptimeMilliseconds ?? 0),
                    "\(member.cellsHosted ?? 0)", "\(member.cellsLed ?? 0)", "\(member.cellsWithoutLeader ?? 0)",
                    (member.suspectedPeers ?? []).isEmpty ? "-" : (member.suspectedPeers ?? []).joined(separator: ","),
                ])
            } else {
                rows.append([member.id, member.address, member.zone, "DOWN", "-", "-", "-", "-", "-"])
            }
        }
        out += TextTable.render(rows, rightAligned: [5, 6, 7])
        for member in members where !member.up {
            out += "  \(member.id) is down: \(member.error ?? "no answer")\n"
        }
        out += "\n"
        if lagging.isEmpty {
            out += "lagging replicas: none\n"
        } else {
            out += "lagging replicas (furthest behind first):\n"
            var laggingRows = [["CELL", "MEMBER", "BEHIND", "LEADER"]]
            for replica in lagging.prefix(Self.laggingShown) {
                laggingRows.append([replica.cell, replica.member, "\(replica.entriesBehind)", replica.reportedBy])
            }
            out += TextTable.render(laggingRows, rightAligned: [2], indent: "  ")
            if lagging.count > Self.laggingShown { out += "  … and \(lagging.count - Self.laggingShown) more\n" }
        }
        out += "\n"
        var line = "\(summary.membersUp) of \(summary.members) members up; "
            + "cells led: \(summary.cellsLed) of \(summary.cells) (a cell elects a leader on first use); "
            + "replicas without a known leader: \(summary.cellsWithoutLeader); lagging replicas: \(summary.laggingReplicas)"
        if !summary.suspectedPeers.isEmpty { line += "; suspected: \(summary.suspectedPeers.joined(separator: ", "))" }
        out += line + "\n"
        return out
    }

    /// `12s`, `4m07s`, `3h12m`, `2d05h`.
    static func uptime(_ milliseconds: UInt64) -> String {
        let seconds = milliseconds / 1000
        func two(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m\(two(seconds % 60))s"
        case ..<86_400: return "\(seconds / 3600)h\(two(seconds % 3600 / 60))m"
        default: return "\(seconds / 86_400)d\(two(seconds % 86_400 / 3600))h"
        }
    }

}
