import Foundation
@testable import Machine
import TestSupport
import Testing

/// Deploy's checks: each bad module gets its own typed error, before anything is stored.
@Suite struct ProgramCheckTests {
    let runner = ProgramRunner(limits: MachineLimits(memoryBytes: 4 << 16))

    func compileError(_ wat: String) -> MachineError? {
        do {
            _ = try runner.compile(try ProgramRunner.assemble(text: wat))
            return nil
        } catch {
            return error
        }
    }

    @Test func bytesThatAreNotWebAssemblyAreRefused() {
        #expect(throws: MachineError.self) { try runner.compile(Array("not a module".utf8)) }
        #expect(throws: MachineError.invalidModule("the module is empty")) { try runner.compile([]) }
        #expect(throws: MachineError.self) { try runner.compile([UInt8](repeating: 0, count: MachineLimits.moduleBytesMaximum + 1)) }
    }

    @Test func textThatDoesNotAssembleIsRefused() {
        #expect(throws: MachineError.self) { try ProgramRunner.assemble(text: "(module (func $f (i32.add)") }
    }

    @Test func importsTheHostDoesNotOfferAreNamed() {
        let wasi = compileError(#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))"#)
        #expect(wasi == .unsupportedImport(module: "wasi_snapshot_preview1", name: "fd_write", reason: "the host offers module tessera only"))
        guard case .unsupportedImport(_, "peek", _) = compileError(#"(module (import "tessera" "peek" (func)))"#) else {
            Issue.record("an unknown host call was accepted"); return
        }
        guard case .unsupportedImport(_, "load", let reason) = compileError(#"(module (import "tessera" "load" (func (param i32))))"#) else {
            Issue.record("a wrong signature was accepted"); return
        }
        #expect(reason.contains("(i32, i32, i32, i32, i32) -> (i32)"))
    }

    @Test func aBadFunctionBodyFailsAtDeploy() {
        // Parses, but adds an i64 to an i32: only validation of the body finds it.
        guard case .invalidModule = compileError("(module (func (export \"f\") (result i32) (i32.add (i32.const 1) (i64.const 2))))") else {
            Issue.record("a body that does not validate was accepted"); return
        }
    }

    @Test func memoryRulesAreCheckedAtDeploy() {
        guard case .invalidModule(let reason) = compileError(#"(module (import "tessera" "log" (func (param i32 i32))))"#) else {
            Issue.record("a module without memory that needs one was accepted"); return
        }
        #expect(reason.contains("export that memory"))
        guard case .invalidModule(let big) = compileError(#"(module (memory (export "memory") 100))"#) else {
            Issue.record("an initial memory over the limit was accepted"); return
        }
        #expect(big.contains("memory"))
    }

    /// Deploy's decoder takes outside input: mutated and truncated modules are
    /// refused with a typed error or compile, and never bring the process down.
    @Test func mutatedModulesAreRefusedOrCompileButNeverCrash() throws {
        let original = try ProgramRunner.assemble(text: WatPrograms.counter)
        var random = SplitMix64(seed: 0x5EED_F022)
        var refused = 0
        for round in 0..<600 {
            var bytes = original
            switch round % 3 {
            case 0:
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                }
            case 1:
                bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
            default:
                let at = Int(random.next() % UInt64(bytes.count))
                bytes.insert(contentsOf: (0..<Int(random.next() % 8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
            }
            do {
                _ = try runner.compile(bytes)
            } catch {
                refused += 1
            }
        }
        #expect(refused > 300, "only \(refused) of 600 damaged modules were refused")
    }

    @Test func aGoodModuleIsSummarised() throws {
        let program = try runner.compile(try ProgramRunner.assemble(text: WatPrograms.counter))
        #expect(program.summary.sha256.count == 64)
        #expect(program.summary.sizeBytes > 100)
    }
}
