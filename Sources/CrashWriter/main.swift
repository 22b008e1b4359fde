// CrashWriter: writes to a local store until it is killed, printing one
// line per acknowledged write, so that a test can SIGKILL it at a random moment
// and check that every acknowledged write survived (CLITests/CrashRestartTests).
//
//   CrashWriter <data-dir> <writers> [seconds]
//
// Each of <writers> tasks w loops: put `acme/crash/rnd/w<w>/<n>` (n zero-padded to
// 10 digits, so sort-key order is numeric order; condition absent), then one
// compare-and-swap on the shared key `acme/crash/rnd/shared` (get, put with
// versionEquals, retried with the version a failed condition reports). n continues
// after the largest n already in the store. After each acknowledged write it prints
//
//   ack <key text> <version> <value in hex>
//
// with one write(2). The values are text:
//
//   crash-v1 own w=<w> n=<n> run=<pid> prev=0 pad=<len>:<padding> sum=<16 hex>
//   crash-v1 shared w=<w> n=<writer's CAS count in this run> run=<pid> prev=<version replaced, 0 if none> pad=... sum=...
//
// where padding is <len> letters ((w*31 + n*7 + i) % 26 + 'a'), len = (n*37 + w*11) % 200,
// and sum is the FNV-1a 64 hash of every byte before " sum=". It stops by itself
// after [seconds] (default 30), so a lost child never runs for long.
import Foundation
import Keyspace
import Storage

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(status)
}

func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

func makeValue(kind: String, writer: Int, n: Int, run: Int32, previous: UInt64) -> [UInt8] {
    let length = (n &* 37 &+ writer &* 11) % 200
    let padding = (0..<length).map { index in Character(Unicode.Scalar(UInt8((writer * 31 + n * 7 + index) % 26) + 97)) }
    let body = "crash-v1 \(kind) w=\(writer) n=\(n) run=\(run) prev=\(previous) pad=\(length):\(String(padding))"
    let sum = String(fnv1a64(body.utf8), radix: 16)
    return Array((body + " sum=" + String(repeating: "0", count: 16 - sum.count) + sum).utf8)
}

func sortKey(_ n: Int) -> String {
    let digits = String(n)
    return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
}

func acknowledge(_ key: Key, _ version: UInt64, _ value: [UInt8]) {
    FileHandle.standardOutput.write(Data("ack \(key.text) \(version) \(hex(value))\n".utf8))
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let writerCount = Int(arguments[2]), writerCount > 0 else {
    fail("usage: CrashWriter <data-dir> <writers> [seconds]", status: 64)
}
let seconds = arguments.count > 3 ? Double(arguments[3]) ?? 30 : 30
let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
let run = getpid()

let store: Store
do {
    store = try Store(path: arguments[1])
} catch {
    fail("cannot open \(arguments[1]): \(error)", status: 74)
}
let shared = try! Key(account: "acme", resource: "crash", type: .rnd, primaryKey: "shared")

/// The largest n each writer has in the store: numbering continues after it.
var firstNumbers: [Int] = []
do {
    for writer in 0..<writerCount {
        let collection = try! Key(account: "acme", resource: "crash", type: .rnd, primaryKey: "w\(writer)")
        let page = try await store.query(collection, QueryRange(reverse: true, limit: 1))
        let last = page.items.first.flatMap { Int(String(decoding: $0.sortKey, as: UTF8.self)) } ?? 0
        firstNumbers.append(last + 1)
    }
} catch {
    fail("cannot read the store: \(error)", status: 74)
}
FileHandle.standardOutput.write(Data("open run=\(run) writers=\(writerCount) first=\(firstNumbers) \(store.recoveryReport)\n".utf8))

let numbers = firstNumbers
await withTaskGroup(of: Void.self) { group in
    for writer in 0..<writerCount {
        group.addTask {
            var n = numbers[writer]
            var casCount = 0
            do {
                while ContinuousClock.now < deadline {
                    let key = try Key(account: "acme", resource: "crash", type: .rnd, primaryKey: "w\(writer)", sortKey: sortKey(n))
                    let value = makeValue(kind: "own", writer: writer, n: n, run: run, previous: 0)
                    switch try await store.put(key, value: value, condition: .absent) {
                    case .applied(let version): acknowledge(key, version, value)
                    case .conditionFailed(let current):
                        fail("writer \(writer): \(key.text) already exists (version \(current.map(String.init) ?? "nil"))", status: 70)
                    }
                    n += 1

                    var current = try await store.get(shared)?.version
                    for _ in 0..<4 {
                        let value = makeValue(kind: "shared", writer: writer, n: casCount + 1, run: run, previous: current ?? 0)
                        let condition: WriteCondition = current.map { .versionEquals($0) } ?? .absent
                        switch try await store.put(shared, value: value, condition: condition) {
                        case .applied(let version):
                            casCount += 1
                            acknowledge(shared, version, value)
                        case .conditionFailed(let now):
                            current = now
                            continue
                        }
                        break
                    }
                }
            } catch {
                fail("writer \(writer): \(error)", status: 74)
            }
        }
    }
}
do {
    try store.close()
} catch {
    fail("close: \(error)", status: 74)
}
