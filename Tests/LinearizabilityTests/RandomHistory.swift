import Linearizability
import TestSupport

/// Random clients against a real in-memory store. Each operation takes effect
/// at one random moment strictly inside its window, so the effect moments are
/// a linearization and the recorded history is linearizable by construction.
///
/// With faults, some operations fail before taking effect (recorded `failed`),
/// and some clients give up (recorded `unknown`) either after the effect or
/// before it; a request whose client gave up first may still land later, or never.
struct RandomHistory {
    var clients = 5
    var keys = ["a", "b", "c"]
    var operationCount = 300
    var faults = true

    func generate(seed: UInt64) -> [RegisterOperation] {
        var random = SplitMix64(seed: seed)
        var store: [String: Int] = [:]
        var written: [String: [Int]] = [:]
        var nextValue = 1  // values start at 1, so 0 is never written
        var operations: [RegisterOperation] = []
        // client -> its operation, and the output once it has taken effect
        var outstanding: [Int: (index: Int, output: Register.Output?)] = [:]
        var inFlight: [Int] = []  // operations whose client gave up before they took effect
        var time = 0

        func apply(_ input: Register.Input) -> Register.Output {
            let current = store[input.key]
            switch input {
            case .put(let key, let value):
                store[key] = value
                return .ok
            case .get:
                return .value(current)
            case .cas(let key, let expected, let new):
                guard current == expected else { return .casFailed }
                store[key] = new
                return .ok
            case .delete(let key):
                store[key] = nil
                return .ok
            }
        }

        func randomInput() -> Register.Input {
            let key = keys[random.int(0..<keys.count)]
            defer { nextValue += 1 }
            switch random.int(0..<20) {
            case 0..<8:
                written[key, default: []].append(nextValue)
                return .put(key, nextValue)
            case 8..<15:
                return .get(key)
            case 15..<18:
                // Half the time the value the store holds now, so that some swaps succeed.
                let old = written[key] ?? []
                let expected = random.int(0..<2) == 0 || old.isEmpty ? store[key] : old[random.int(0..<old.count)]
                written[key, default: []].append(nextValue)
                return .cas(key, expected: expected, new: nextValue)
            default:
                return .delete(key)
            }
        }

        while operations.count < operationCount || !outstanding.isEmpty {
            time += 1
            if !inFlight.isEmpty, random.int(0..<10) == 0 {
                let index = inFlight.remove(at: random.int(0..<inFlight.count))
                if random.int(0..<2) == 0 { _ = apply(operations[index].input) }  // else lost
            }
            let client = random.int(0..<clients)
            let roll = random.int(0..<100)
            switch outstanding[client] {
            case nil:
                guard operations.count < operationCount else { continue }
                outstanding[client] = (operations.count, nil)
                operations.append(Operation(client: client, input: randomInput(), invokedAt: time, outcome: .unknown))
            case (let index, nil)?:
                if faults, roll < 3 {
                    operations[index].outcome = .failed
                    outstanding[client] = nil
                } else if faults, roll < 6 {
                    inFlight.append(index)  // outcome stays unknown
                    outstanding[client] = nil
                } else {
                    outstanding[client] = (index, apply(operations[index].input))
                }
            case (let index, let output?)?:
                if !faults || roll >= 3 { operations[index].outcome = .ok(output, returnedAt: time) }  // else unknown
                outstanding[client] = nil
            }
        }
        return operations
    }
}
