import Foundation
import Keyspace
@testable import Machine
import Testing

@Suite struct ProgramRunnerTests {
    let runner = ProgramRunner(limits: MachineLimits(fuel: 2_000_000, memoryBytes: 4 << 16, deadline: .seconds(30), hostCalls: 100))

    func counter() throws -> CompiledProgram {
        try runner.compile(ProgramRunner.assemble(text: WatPrograms.counter))
    }

    func invoke(_ program: CompiledProgram, _ export: String, _ arguments: [Int64] = [], account: String = "acme",
                mayWrite: Bool = true, memory: InMemoryGlobalMemory, runner: ProgramRunner? = nil) throws(MachineError) -> InvocationResult {
        try (runner ?? self.runner).invoke(program, export: export, arguments: arguments, account: account, mayWrite: mayWrite, memory: memory)
    }

    @Test func aCASLoopCounterCountsInTheCallersAccount() throws {
        let memory = InMemoryGlobalMemory()
        let program = try counter()
        #expect(try invoke(program, "increment", memory: memory).results == [1])
        let second = try invoke(program, "increment", memory: memory)
        #expect(second.results == [2])
        #expect(second.hostCalls == 3)
        #expect(second.fuelUsed >= 3 * MachineLimits.hostCallFuel)
        let word = try Key(account: "acme", resource: "counters", type: .rnd, primaryKey: "c")
        #expect(memory.dataWrites == [word: [2, 0, 0, 0, 0, 0, 0, 0]])
    }

    @Test func exportsAreReportedWithTheirSignatures() throws {
        let exports = try counter().summary.exports
        #expect(exports.first { $0.name == "add" }?.signature == "(i32, i64) -> (i64)")
        #expect(exports.contains { $0.name == "increment" })
    }

    @Test func argumentsAreCheckedAgainstTheExport() throws {
        let memory = InMemoryGlobalMemory()
        let program = try counter()
        #expect(try invoke(program, "add", [-3, 10], memory: memory).results == [7])
        #expect(throws: MachineError.self) { try invoke(program, "add", [1], memory: memory) }
        do {
            _ = try invoke(program, "add", [1 << 40, 1], memory: memory)
            Issue.record("an i32 argument out of range was accepted")
        } catch {
            #expect("\(error)".contains("does not fit in 32 bits"))
        }
        do {
            _ = try invoke(program, "nope", memory: memory)
            Issue.record("a missing export ran")
        } catch {
            guard case .noSuchExport(let name, let available) = error as? MachineError else { Issue.record("\(error)"); return }
            #expect(name == "nope" && available.contains("increment"))
        }
        #expect(throws: MachineError.badArguments("half returns f64; only integer results can be returned")) {
            try invoke(program, "half", memory: memory)
        }
    }

    @Test func eachLimitEndsTheInvocationWithAnErrorNamingIt() throws {
        let memory = InMemoryGlobalMemory()
        let program = try counter()
        func limit(_ export: String, _ arguments: [Int64] = [], runner: ProgramRunner? = nil,
                   memory: InMemoryGlobalMemory = InMemoryGlobalMemory()) -> MachineLimit? {
            do {
                _ = try invoke(program, export, arguments, memory: memory, runner: runner)
                return nil
            } catch {
                guard case .limitExceeded(let limit, _) = error as? MachineError else { return nil }
                return limit
            }
        }
        #expect(limit("spin") == .fuel)
        let growing = try runner.compile(ProgramRunner.assemble(text:
            #"(module (memory (export "memory") 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#))
        do {
            _ = try invoke(growing, "grow", [10], memory: memory)
            Issue.record("memory grew past the limit")
        } catch {
            guard case .limitExceeded(.memory, let detail) = error else { Issue.record("\(error)"); return }
            #expect(detail.contains("the limit is 262144"))
        }
        #expect(try invoke(growing, "grow", [1], memory: memory).results == [1])
        #expect(limit("ids") == .hostCalls)
        let slow = ProgramRunner(limits: MachineLimits(fuel: 1_000_000_000, deadline: .milliseconds(300), hostCalls: 1_000_000))
        let slowMemory = InMemoryGlobalMemory(delay: .milliseconds(20))
        _ = try invoke(program, "increment", memory: slowMemory, runner: slow)
        #expect(limit("loads", runner: slow, memory: slowMemory) == .deadline)
    }

    @Test func aTrapEndsTheInvocationAndTheRunnerGoesOn() throws {
        let memory = InMemoryGlobalMemory()
        let program = try counter()
        do {
            _ = try invoke(program, "crash", memory: memory)
            Issue.record("unreachable did not trap")
        } catch {
            guard case .trapped(let reason) = error as? MachineError else { Issue.record("\(error)"); return }
            #expect(reason.contains("unreachable"))
        }
        #expect(try invoke(program, "increment", memory: memory).results == [1])
    }

    @Test func badPointersFromTheGuestAreRefusedAndWriteNothing() throws {
        let memory = InMemoryGlobalMemory()
        let program = try counter()
        for export in ["out_of_bounds", "made_up"] {
            do {
                _ = try invoke(program, export, memory: memory)
                Issue.record("\(export) was served")
            } catch {
                guard case .badHostCall(call: "load", let reason) = error as? MachineError else { Issue.record("\(error)"); return }
                #expect(reason.contains(export == "made_up" ? "not a pointer of account acme" : "outside the program's memory"))
            }
        }
        #expect(memory.dataWrites.isEmpty)
    }

    @Test func aPointerOfAnotherAccountIsRefusedEvenWhenThatAccountMadeIt() throws {
        let memory = InMemoryGlobalMemory()
        let counterProgram = try counter()
        // Account "other" makes (and so registers) its counter's pointer.
        #expect(try invoke(counterProgram, "increment", account: "other", memory: memory).results == [1])
        let others = try Key(account: "other", resource: "counters", type: .rnd, primaryKey: "c").pointer
        let program = try runner.compile(ProgramRunner.assemble(text: WatPrograms.writing(at: others.bytes)))
        #expect(throws: MachineError.self) { try invoke(program, "write_at_stored", account: "acme", memory: memory) }
        // The same pointer followed by its own account, on a node that never saw it made (a new cache).
        let elsewhere = ProgramRunner(limits: runner.limits)
        #expect(try invoke(program, "write_at_stored", account: "other", memory: memory, runner: elsewhere).results == [0])
        #expect(memory.dataWrites[try Key(account: "other", resource: "counters", type: .rnd, primaryKey: "c")] == [7, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func aReadOnlyCallerCannotWrite() throws {
        let memory = InMemoryGlobalMemory()
        do {
            _ = try invoke(try counter(), "increment", mayWrite: false, memory: memory)
            Issue.record("a read-only caller wrote")
        } catch {
            guard case .forbidden(let reason) = error as? MachineError else { Issue.record("\(error)"); return }
            #expect(reason.contains("may only read account acme"))
        }
        #expect(memory.dataWrites.isEmpty)
    }

    @Test func logLinesComeBack() throws {
        let result = try invoke(try counter(), "hello", memory: InMemoryGlobalMemory())
        #expect(result.logs == ["counters"])
    }
}
