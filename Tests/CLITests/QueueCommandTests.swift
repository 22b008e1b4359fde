import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `tessera queue` with real processes: one TLS node with its extents in a
/// folder of their own (`--lnr-dir`, 1 MiB extents). The journal's operations
/// and each bad input with its exit status; fencing of a deposed primary that
/// was paused (SIGSTOP) while a new one took over; trims freeing extent files,
/// and a flipped bit in an extent reported, never returned as data.
@Suite struct QueueCommandTests {
    @Test(.timeLimit(.minutes(4))) func journalOperationsAndBadInput() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let node = try await AuthCommandTests.startTLSNode(tessera, serveArguments: queueServeArguments(tessera))
        defer { node.process.stop() }
        let queue = "acme/orders/lnr/eu"

        // The flow of `tessera queue --help`.
        try await expectOutput(node, ["queue", "append", queue, "first order"], "seq 1")
        try await expectOutput(node, ["queue", "read", queue, "--from", "1", "--max", "10"], "1\tfirst order")
        try await expectOutput(node, ["queue", "tail", queue], "1")
        let lease = try await node.asOperator(["queue", "lease", "take", queue, "primary-a", "--seconds", "600"])
        #expect(lease.status == 0 && lease.output.hasPrefix("holder primary-a until ") && lease.output.hasSuffix("Z\n"),
                "\(lease.output) \(lease.errorOutput)")
        try await expectOutput(node, ["queue", "set-leader", queue, "primary-a"], "leader primary-a")
        try await expectOutput(node, ["queue", "append", queue, "second", "--leader", "primary-a"], "seq 2")
        try await expectOutput(node, ["queue", "read", queue, "--from", "2", "--wait", "30"], "2\tsecond")
        // Long-polling past the end: nothing arrives within the wait, nothing is printed.
        let waited = try await node.asOperator(["queue", "read", queue, "--from", "3", "--wait", "1"])
        #expect(waited.status == 0 && waited.output.isEmpty, "\(waited.output) \(waited.errorOutput)")

        // A new leader named against the old one; the old leader's appends are fenced from then on.
        try await expectOutput(node, ["queue", "set-leader", queue, "primary-b", "--expected", "primary-a"], "leader primary-b")
        try await expectRefusal(node, ["queue", "append", queue, "stale", "--leader", "primary-a"], status: 2,
                                mentions: ["fenced", "primary-b"])
        try await expectOutput(node, ["queue", "append", queue, "third", "--leader", "primary-b"], "seq 3")
        let mismatch = try await expectRefusal(node, ["queue", "set-leader", queue, "primary-c", "--expected", "primary-a"],
                                               status: 2, mentions: ["leader mismatch", "primary-b"])
        #expect(mismatch.output == "leader primary-b\n", "\(mismatch.output)")

        // Consumer groups.
        try await expectOutput(node, ["queue", "commit", queue, "billing", "2"], "committed billing through 2")
        try await expectOutput(node, ["queue", "position", queue, "billing"], "2")
        try await expectOutput(node, ["queue", "position", queue, "shipping"], "0")

        // The largest payload, from standard input.
        let largest = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        let appendedLargest = try await node.asOperator(["queue", "append", queue, "-"], input: largest)
        #expect(appendedLargest.status == 0 && appendedLargest.output == "seq 4\n", "\(appendedLargest.output) \(appendedLargest.errorOutput)")
        let readLargest = try await node.asOperator(["queue", "read", queue, "--from", "4"])
        let largestLine = "4\t" + String(repeating: "x", count: 1 << 20) + "\n"
        #expect(readLargest.status == 0 && readLargest.output == largestLine,
                "\(readLargest.status) \(readLargest.output.count) characters \(readLargest.errorOutput)")

        // Trim.
        try await expectOutput(node, ["queue", "trim", queue, "--through", "1"], "trimmed through 1")
        try await expectRefusal(node, ["queue", "read", queue, "--from", "1"], status: 1, mentions: ["trimmed", "through 1"])
        let expected = QueueState(lastSequence: 4, trimmedThrough: 1, leader: "primary-b", leaseHolder: "primary-a")
        let before = try await queueState(node, queue)
        #expect(before == expected)

        // Bad input: its exit status, the part at fault named, nothing changed.
        let oversize = Data(repeating: UInt8(ascii: "y"), count: (1 << 20) + 1)
        try await expectRefusal(node, ["queue", "append", queue, "-"], input: oversize, status: 64,
                                mentions: ["1048577 bytes", "limit is 1048576", "nothing was appended"])
        try await expectRefusal(node, ["queue", "read", "acme/orders/lnr/nowhere"], status: 1,
                                mentions: ["unknown queue", "acme/orders/lnr/nowhere"])
        try await expectRefusal(node, ["queue", "tail", "acme/orders/lnr/nowhere"], status: 1,
                                mentions: ["unknown queue", "acme/orders/lnr/nowhere"])
        try await expectRefusal(node, ["queue", "commit", queue, "billing", "99"], status: 64,
                                mentions: ["bad sequence", "sequence 99 is past the queue's last, 4"])
        try await expectRefusal(node, ["queue", "trim", queue, "--through", "99"], status: 64,
                                mentions: ["bad sequence", "sequence 99 is past the queue's last, 4"])
        try await expectRefusal(node, ["queue", "read", queue, "--from", "0"], status: 64, mentions: ["--from 0"])
        try await expectRefusal(node, ["queue", "append", "acme/orders/rnd/eu", "x"], status: 64,
                                mentions: ["acme/orders/rnd/eu", "not a queue key"])
        try await expectRefusal(node, ["put", queue, "x"], status: 64, mentions: [queue, "is a queue"])
        try await expectRefusal(node, ["queue", "lease", "take", queue, "intruder", "--seconds", "5"], status: 2,
                                mentions: ["lease held", "primary-a"])

        // A renewal after the lease ran out (on the same machine's clock as the node's) is refused.
        let brief = "acme/orders/lnr/brief"
        let short = try await node.asOperator(["queue", "lease", "take", brief, "short", "--seconds", "1", "--json"])
        #expect(short.status == 0, "\(short.errorOutput)")
        let deadline = try #require(try tessera.json(short)["deadlineMilliseconds"] as? Int, "\(short.output)")
        let ranOut = try await pollUntil(timeout: .seconds(10), every: .milliseconds(100)) { () -> Bool? in
            nowMilliseconds() > deadline + 100 ? true : nil
        }
        #expect(ranOut == true, "the lease's deadline \(deadline) is not past after 10 s")
        try await expectRefusal(node, ["queue", "lease", "renew", brief, "short", "--seconds", "1"], status: 2,
                                mentions: ["lease expired", "short"])
        let briefState = try await queueState(node, brief)
        #expect(briefState == QueueState(lastSequence: 0, trimmedThrough: 0, leader: nil, leaseHolder: "short"))

        // Each documented bound: its typed refusal, naming the bound.
        let longName = String(repeating: "n", count: 257)
        try await expectRefusal(node, ["queue", "read", queue, "--max", "10001"], status: 64, mentions: ["10000", "10001"])
        try await expectRefusal(node, ["queue", "lease", "take", queue, "primary-a", "--seconds", "3601"], status: 64,
                                mentions: ["--seconds", "3600"])
        try await expectRefusal(node, ["queue", "set-leader", queue, longName], status: 64, mentions: ["257 bytes", "limit is 256"])
        try await expectRefusal(node, ["queue", "commit", queue, longName, "2"], status: 64, mentions: ["257 bytes", "limit is 256"])

        // A payload that is not text reads back as one line: bytes that are not UTF-8, %, control bytes as %XX.
        let binary = "acme/orders/lnr/binary"
        let appended = try await node.asOperator(["queue", "append", binary, "-"], input: Data([0xFF, 0x41, 0x25, 0x0A, 0xC3, 0xA9]))
        #expect(appended.status == 0, "\(appended.errorOutput)")
        try await expectOutput(node, ["queue", "read", binary], "1\t%FFA%25%0Aé")

        // Nothing the refusals touched changed.
        let finalState = try await queueState(node, queue)
        #expect(finalState == expected)
        try await expectOutput(node, ["queue", "position", queue, "billing"], "2")
        try await expectOutput(node, ["queue", "read", queue, "--max", "2"], "2\tsecond\n3\tthird")
        #expect(node.process.isRunning, "the node stopped: \(node.process.output)")
    }

    @Test(.timeLimit(.minutes(5))) func deposedAndPausedPrimariesCannotAppend() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let node = try await AuthCommandTests.startTLSNode(tessera, serveArguments: queueServeArguments(tessera))
        defer { node.process.stop() }
        let queue = "acme/jobs/lnr/primary"

        // Writer A: takes the lease, becomes leader, then appends a-1, a-2, … fenced as A, renewing as it goes.
        let writer = try BackgroundProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", writerScript(node, queue: queue, holder: "A")],
                                           logURL: tessera.folder.url.appendingPathComponent("writer-a.log"))
        defer { killTree(writer) }
        let started = try await pollUntil(timeout: .seconds(90)) { () -> Bool? in
            if WriterLog(writer.output).dones.values.filter({ $0.status == 0 }).count >= 3 { return true }
            return writer.isRunning ? nil : false
        }
        try #require(started == true, "writer A made no 3 appends: \(writer.output)")

        // A pauses (it and the command it is running), like a primary in a long GC pause or a frozen VM.
        pauseTree(writer)
        // B waits out A's lease, then takes over: lease first, then leadership, only if A is still the leader.
        var refusals: [String] = []
        let taken = try await pollUntil(timeout: .seconds(30)) { () -> Finished? in
            let attempt = try await node.asOperator(["queue", "lease", "take", queue, "B", "--seconds", "30"])
            if attempt.status == 0 { return attempt }
            refusals.append("\(attempt.status) \(attempt.errorOutput)")
            return nil
        }
        try #require(taken != nil, "B never got the lease: \(refusals)")
        let allHeldByA = refusals.allSatisfy { $0.hasPrefix("2 ") && $0.contains("lease held") && $0.contains("A holds") }
        #expect(allHeldByA, "B's refused attempts: \(refusals)")
        try await expectOutput(node, ["queue", "set-leader", queue, "B", "--expected", "A"], "leader B")
        let appendedB = try await node.asOperator(["queue", "append", queue, "b-1", "--leader", "B"])
        #expect(appendedB.status == 0, "\(appendedB.errorOutput)")
        let sequenceB = try #require(appendedSequence(appendedB.output), "\(appendedB.output)")

        // A resumes, believing it still leads: every append it starts from now on must be fenced.
        let linesBeforeResume = WriterLog(writer.output).lines.count
        resumeTree(writer)
        let resumed = try await pollUntil(timeout: .seconds(90)) { () -> Bool? in
            let current = WriterLog(writer.output)
            if current.starts(afterLine: linesBeforeResume).filter({ current.dones[$0] != nil }).count >= 3 { return true }
            return writer.isRunning ? nil : false
        }
        #expect(resumed == true, "writer A made no 3 attempts after it resumed: \(writer.output)")
        killTree(writer)

        let log = WriterLog(writer.output)
        let afterResume = log.starts(afterLine: linesBeforeResume)
        try #require(!afterResume.isEmpty, "\(writer.output)")
        for i in afterResume {
            guard let done = log.dones[i] else { continue }  // still running when A was killed
            #expect(done.status == 2 && done.text.contains("fenced") && done.text.contains("leader is B"),
                    "A's append a-\(i) after it resumed: status \(done.status) \(done.text)")
        }

        // The queue: dense sequence numbers, only A's acknowledged appends, and B's after all of them.
        let read = try await node.asOperator(["queue", "read", queue, "--from", "1", "--max", "10000"])
        #expect(read.status == 0, "\(read.errorOutput)")
        let entries = queueEntries(read.output)
        try #require(!entries.isEmpty, "\(read.output)")
        #expect(entries.map(\.sequence) == Array(1...UInt64(entries.count)), "\(entries.map(\.sequence))")
        #expect(entries.last == QueueEntryLine(sequence: sequenceB, payload: "b-1"), "\(entries.suffix(3))")
        let refused = Set(log.dones.filter { $0.value.status == 2 }.map { $0.key })
        let firstAfterResume = afterResume.min() ?? Int.max
        var writtenByA: [Int] = []
        for entry in entries where entry.payload != "b-1" {
            let i = entry.payload.hasPrefix("a-") ? Int(entry.payload.dropFirst(2)) : nil
            #expect(i != nil, "an entry no writer appended: \(entry)")
            guard let i else { continue }
            writtenByA.append(i)
            #expect(!refused.contains(i), "a-\(i) was refused, yet it is entry \(entry.sequence)")
            #expect(i < firstAfterResume, "a-\(i) was started after A resumed, yet it is entry \(entry.sequence)")
            #expect(entry.sequence < sequenceB, "a-\(i) is entry \(entry.sequence), after B's \(sequenceB)")
        }
        #expect(writtenByA == writtenByA.sorted() && Set(writtenByA).count == writtenByA.count, "\(writtenByA)")
        for (i, done) in log.dones where done.status == 0 {
            let sequence = appendedSequence(done.text)
            let stored = entries.first(where: { $0.sequence == sequence })?.payload
            #expect(sequence != nil && stored == "a-\(i)", "a-\(i) was acknowledged as \(done.text), but the queue holds \(stored ?? "nothing") there")
        }
        let state = try await queueState(node, queue)
        #expect(state.leader == "B" && state.lastSequence == Int(sequenceB), "\(state)")
        #expect(node.process.isRunning, "the node stopped: \(node.process.output)")
    }

    @Test(.timeLimit(.minutes(6))) func trimFreesExtentFiles() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        let serveArguments = queueServeArguments(tessera)
        let lnr = tessera.folder.path + "/lnr"
        let node = try await AuthCommandTests.startTLSNode(tessera, serveArguments: serveArguments)
        defer { node.process.stop() }
        let queue = "acme/events/lnr/stream"

        // 40 payloads of 100 KB: about 4 MB, more than three 1 MiB extents' worth.
        let payloads = (0..<40).map { _ in randomBase64(bytes: 75_000) }
        for (index, payload) in payloads.enumerated() {
            let appended = try await node.asOperator(["queue", "append", queue, "-"], input: Data(payload.utf8))
            #expect(appended.status == 0 && appended.output == "seq \(index + 1)\n", "\(appended.output) \(appended.errorOutput)")
        }
        let last = UInt64(payloads.count)

        // Gathered: at least three finished extents, the newest holding the last entry.
        let gathered = try await pollUntil(timeout: .seconds(30)) { () -> [ExtentFile]? in
            let files = extentFiles(in: lnr)
            return files.count >= 3 && files.contains(where: { $0.lastSequence == last }) ? files : nil
        }
        let before = try #require(gathered, "extents in \(lnr): \(extentFiles(in: lnr)); node: \(node.process.output)")
        let bytesBefore = before.reduce(0) { $0 + $1.size }

        // Trimming all but the last entry frees every extent it covers whole.
        try await expectOutput(node, ["queue", "trim", queue, "--through", "\(last - 1)"], "trimmed through \(last - 1)")
        let freed = try await pollUntil(timeout: .seconds(30)) { () -> [ExtentFile]? in
            let files = extentFiles(in: lnr)
            let smaller = files.count < before.count && files.reduce(0, { $0 + $1.size }) < bytesBefore
            return smaller && files.allSatisfy({ ($0.lastSequence ?? 0) >= last }) ? files : nil
        }
        let after = try #require(freed, "before: \(before); now: \(extentFiles(in: lnr)); node: \(node.process.output)")
        #expect(!after.isEmpty, "the extent holding the last entry was removed too")
        try await expectRefusal(node, ["queue", "read", queue, "--from", "1"], status: 1, mentions: ["trimmed"])
        try await expectOutput(node, ["queue", "read", queue, "--from", "\(last)"], "\(last)\t\(payloads[payloads.count - 1])")

        // A flipped bit in the last entry's record, found while the node is down.
        await node.process.stop()
        let remaining = extentFiles(in: lnr)
        let holding = remaining.first(where: { ($0.firstSequence ?? .max) <= last && $0.lastSequence == last })
        let holder = try #require(holding, "no extent holds seq \(last): \(remaining)")
        let record = try #require(recordPayload(in: holder.bytes, sequence: last), "no record of seq \(last) in \(holder)")
        #expect(Array(holder.bytes[record]) == Array(payloads[payloads.count - 1].utf8), "the record found is not the last entry's")
        let position = record.lowerBound + record.count / 2
        try overwriteByte(atPath: holder.path, offset: position, with: holder.bytes[position] ^ 0x01)

        let restarted = try await restartTLSNode(node, serveArguments: serveArguments)
        defer { restarted.process.stop() }
        let corrupt = try await restarted.asOperator(["queue", "read", queue, "--from", "\(last)", "--max", "1"])
        #expect(corrupt.status != 0, "a corrupt entry was read: status \(corrupt.status), \(corrupt.output.count) characters")
        #expect(!corrupt.output.contains(payloads[payloads.count - 1]), "the original payload was printed from a corrupt extent")
        #expect(corrupt.errorOutput.contains("corrupt") || corrupt.errorOutput.contains("checksum"), "\(corrupt.errorOutput)")
        try await expectOutput(restarted, ["queue", "tail", queue], "\(last)")
        #expect(restarted.process.isRunning, "the node stopped: \(restarted.process.output)")
    }
}

// MARK: - Running commands

/// `--extent-bytes 1MiB --lnr-dir <test folder>/lnr`: small extents, in a folder apart from the data.
private func queueServeArguments(_ tessera: TesseraRunner) -> [String] {
    ["--extent-bytes", "1MiB", "--lnr-dir", tessera.folder.path + "/lnr"]
}

extension AuthCommandTests.Node {
    /// `tessera <arguments>` against the node, as the operator, with `input` on standard input.
    fileprivate func asOperator(_ arguments: [String], input: Data?) async throws -> Finished {
        try await runExecutable(tessera.executable, arguments + endpoint + operatorCertificate, standardInput: input)
    }
}

/// Runs the command as the operator and expects exit 0 and exactly `expected` and a newline on standard output.
@discardableResult
private func expectOutput(_ node: AuthCommandTests.Node, _ arguments: [String], _ expected: String,
                          sourceLocation: SourceLocation = #_sourceLocation) async throws -> Finished {
    let finished = try await node.asOperator(arguments, input: nil)
    #expect(finished.status == 0 && finished.output == expected + "\n",
            "\(arguments.joined(separator: " ")): status \(finished.status), output \(String(finished.output.prefix(300)).debugDescription), \(finished.errorOutput)",
            sourceLocation: sourceLocation)
    return finished
}

/// Runs the command as the operator and expects exit `status` with every one of `parts` on standard error.
@discardableResult
private func expectRefusal(_ node: AuthCommandTests.Node, _ arguments: [String], input: Data? = nil, status: Int32,
                           mentions parts: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> Finished {
    let finished = try await node.asOperator(arguments, input: input)
    let missing = parts.filter { !finished.errorOutput.contains($0) }
    #expect(finished.status == status && missing.isEmpty,
            "\(arguments.joined(separator: " ")): status \(finished.status) (expected \(status)), missing \(missing) in: \(finished.errorOutput)",
            sourceLocation: sourceLocation)
    return finished
}

/// The same node again (same port, data, lnr folder and certificates) after it was stopped.
private func restartTLSNode(_ node: AuthCommandTests.Node, serveArguments: [String]) async throws -> AuthCommandTests.Node {
    let tessera = node.tessera
    let pki = node.pki
    let process = try BackgroundProcess(tessera.executable, [
        "serve", "--node-id", "n1", "--listen", node.endpoint[1], "--members", tessera.folder.path + "/members.json",
        "--data-dir", tessera.folder.path + "/n1", "--cell-depth", "4", "--replicas", "1",
        "--tls-ca", pki + "/ca.pem", "--tls-cert", pki + "/member-n1.pem", "--tls-key", pki + "/member-n1-key.pem",
    ] + serveArguments, logURL: tessera.folder.url.appendingPathComponent("n1-restarted.log"))
    #expect(await process.waitForOutput("node serving", timeout: .seconds(60)), "\(process.output)")
    return AuthCommandTests.Node(tessera: tessera, pki: pki, endpoint: node.endpoint, process: process)
}

/// Polls `attempt` every `interval` until it returns a value or `timeout` passes (nil).
private func pollUntil<T>(timeout: Duration, every interval: Duration = .milliseconds(200),
                          _ attempt: () async throws -> T?) async throws -> T? {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await attempt() { return value }
        if ContinuousClock.now >= deadline { return nil }
        try await Task.sleep(for: interval)
    }
}

private func nowMilliseconds() -> Int { Int(Date().timeIntervalSince1970 * 1_000) }

// MARK: - Queue output

private struct QueueEntryLine: Equatable, CustomStringConvertible {
    let sequence: UInt64
    let payload: String
    var description: String { "\(sequence)\t\(payload.prefix(40))" }
}

/// `seq<TAB>payload` lines of `tessera queue read`.
private func queueEntries(_ output: String) -> [QueueEntryLine] {
    output.split(separator: "\n").compactMap { line -> QueueEntryLine? in
        let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let sequence = UInt64(parts[0]) else { return nil }
        return QueueEntryLine(sequence: sequence, payload: String(parts[1]))
    }
}

/// N in `seq N`.
private func appendedSequence(_ output: String) -> UInt64? {
    let text = output.trimmingCharacters(in: .whitespacesAndNewlines)
    guard text.hasPrefix("seq ") else { return nil }
    return UInt64(text.dropFirst(4))
}

/// What `tessera queue tail --json` tells.
private struct QueueState: Equatable, CustomStringConvertible {
    var lastSequence: Int
    var trimmedThrough: Int
    var leader: String?
    var leaseHolder: String?
    var description: String {
        "last \(lastSequence), trimmed through \(trimmedThrough), leader \(leader ?? "none"), lease \(leaseHolder ?? "none")"
    }
}

private func queueState(_ node: AuthCommandTests.Node, _ queue: String,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> QueueState {
    let tail = try await node.asOperator(["queue", "tail", queue, "--json"])
    #expect(tail.status == 0, "\(tail.errorOutput)", sourceLocation: sourceLocation)
    let json = try node.tessera.json(tail)
    return QueueState(lastSequence: (json["lastSequence"] as? Int) ?? -1, trimmedThrough: (json["trimmedThrough"] as? Int) ?? -1,
                      leader: json["leader"] as? String, leaseHolder: json["leaseHolder"] as? String)
}

// MARK: - The paused writer

/// A bash loop as one primary: lease and leadership, then appends `a-<i>` fenced as `holder`,
/// printing `start <i>` before each and `done <i> <exit status> <output>` after it, and
/// renewing the lease after each (taking it again if it ran out, as a primary would).
private func writerScript(_ node: AuthCommandTests.Node, queue: String, holder: String) -> String {
    let connection = (node.endpoint + node.operatorCertificate).map(shellQuoted).joined(separator: " ")
    return """
        q=\(shellQuoted(queue))
        t() { \(shellQuoted(node.tessera.executable.path)) "$@" \(connection); }
        t queue lease take "$q" \(holder) --seconds 2 || exit 10
        t queue set-leader "$q" \(holder) || exit 11
        echo ready
        i=0
        while true; do
          i=$((i + 1))
          echo "start $i"
          out=$(t queue append "$q" "a-$i" --leader \(holder) 2>&1)
          status=$?
          echo "done $i $status ${out//$'\\n'/ }"
          t queue lease renew "$q" \(holder) --seconds 2 >/dev/null 2>&1 || t queue lease take "$q" \(holder) --seconds 2 >/dev/null 2>&1
        done
        """
}

private func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// The writer's complete lines (a line still being written is left out).
private struct WriterLog {
    struct Done {
        var status: Int32
        var text: String
    }

    let lines: [Substring]
    let dones: [Int: Done]

    init(_ text: String) {
        var all = text.split(separator: "\n", omittingEmptySubsequences: false)
        all.removeLast()  // "" after the last newline, or a line not finished yet
        lines = all
        var dones: [Int: Done] = [:]
        for line in all where line.hasPrefix("done ") {
            let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count >= 3, let i = Int(parts[1]), let status = Int32(parts[2]) else { continue }
            dones[i] = Done(status: status, text: parts.count > 3 ? String(parts[3]) : "")
        }
        self.dones = dones
    }

    /// The `i` of every `start <i>` line after the first `lineCount` lines.
    func starts(afterLine lineCount: Int) -> [Int] {
        lines.dropFirst(lineCount).compactMap { $0.hasPrefix("start ") ? Int($0.dropFirst("start ".count)) : nil }
    }
}

/// Every process below `pid` (children, their children, …), from /proc.
private func descendants(of pid: pid_t) -> [pid_t] {
    BackgroundProcess.childProcesses(of: pid).flatMap { [$0] + descendants(of: $0) }
}

/// SIGSTOP to the process, then to everything it started.
private func pauseTree(_ process: BackgroundProcess) {
    let pid = process.process.processIdentifier
    process.signal(SIGSTOP)
    for child in descendants(of: pid) { kill(child, SIGSTOP) }
}

/// SIGCONT to what the process started, then to the process.
private func resumeTree(_ process: BackgroundProcess) {
    let pid = process.process.processIdentifier
    for child in descendants(of: pid) { kill(child, SIGCONT) }
    process.signal(SIGCONT)
}

/// SIGKILL to the process and everything it started (stopped first, so that it starts nothing more); safe to repeat.
private func killTree(_ process: BackgroundProcess) {
    if process.isRunning {
        let pid = process.process.processIdentifier
        kill(pid, SIGSTOP)
        let tree = descendants(of: pid)
        kill(pid, SIGKILL)
        for child in tree { kill(child, SIGKILL) }
    }
    process.stop(grace: .seconds(5))
}

// MARK: - Extent files

private func randomBase64(bytes count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count {
        var word: UInt64 = generator.next()
        for _ in 0..<8 where bytes.count < count {
            bytes.append(UInt8(truncatingIfNeeded: word))
            word >>= 8
        }
    }
    return Data(bytes).base64EncodedString()
}

/// One `<16 hex digits>.extent` file as it is on disk. Layout (little-endian):
/// header `"TQX1" | u64 id | 16-byte tag | u64 firstSeq | u32 crc` (40 bytes);
/// records `u32 length | u32 crc | u64 seq | payload`; table; footer
/// `u64 tableOffset | u32 count | u64 lastSeq | u32 tableCRC | u32 crc | "TQXE"` (32 bytes).
private struct ExtentFile: CustomStringConvertible {
    static let headerBytes = 40
    static let footerBytes = 32

    let path: String
    let bytes: [UInt8]
    var size: Int { bytes.count }

    var firstSequence: UInt64? {
        guard size >= Self.headerBytes, Array(bytes[0..<4]) == Array("TQX1".utf8) else { return nil }
        return littleEndian(UInt64.self, bytes, at: 28)
    }

    /// Nil while the file is still being written (no footer yet).
    var lastSequence: UInt64? {
        guard size >= Self.headerBytes + Self.footerBytes, Array(bytes[(size - 4)...]) == Array("TQXE".utf8) else { return nil }
        return littleEndian(UInt64.self, bytes, at: size - Self.footerBytes + 12)
    }

    var tableOffset: Int? {
        guard lastSequence != nil else { return nil }
        return Int(exactly: littleEndian(UInt64.self, bytes, at: size - Self.footerBytes))
    }

    var description: String {
        "\(URL(fileURLWithPath: path).lastPathComponent) (\(size) bytes, seqs \(firstSequence.map { "\($0)" } ?? "?") to \(lastSequence.map { "\($0)" } ?? "?"))"
    }
}

private func isExtentName(_ name: String) -> Bool {
    guard name.hasSuffix(".extent") else { return false }
    let stem = name.dropLast(".extent".count)
    return stem.count == 16 && stem.allSatisfy { "0123456789abcdef".contains($0) }
}

/// The extent files in `folder`, by name (a file removed while listing is left out).
private func extentFiles(in folder: String) -> [ExtentFile] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return names.filter(isExtentName).sorted().compactMap { name -> ExtentFile? in
        let path = folder + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return ExtentFile(path: path, bytes: [UInt8](data))
    }
}

/// Where the payload of `sequence`'s record lies in a finished extent's bytes.
private func recordPayload(in bytes: [UInt8], sequence: UInt64) -> Range<Int>? {
    guard let tableOffset = ExtentFile(path: "", bytes: bytes).tableOffset, tableOffset <= bytes.count else { return nil }
    var offset = ExtentFile.headerBytes
    while offset + 16 <= tableOffset {
        let length = Int(littleEndian(UInt32.self, bytes, at: offset))
        let seq = littleEndian(UInt64.self, bytes, at: offset + 8)
        let payload = offset + 16..<offset + 16 + length
        guard payload.upperBound <= tableOffset else { return nil }
        if seq == sequence { return payload }
        offset = payload.upperBound
    }
    return nil
}

private func littleEndian<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
    var value: T = 0
    for index in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + index]) << (8 * index) }
    return value
}

/// Writes one byte in place (the rest of the file untouched).
private func overwriteByte(atPath path: String, offset: Int, with byte: UInt8) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data([byte]))
    try handle.synchronize()
}
