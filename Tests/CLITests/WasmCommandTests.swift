import Foundation
import TestSupport
import Testing

/// `tessera wasm` with real processes: one TLS node, the operator's
/// certificate and access keys; the shipped examples deployed and run; and
/// each kind of bad input refused with its exit status, writing nothing.
@Suite struct WasmCommandTests {
    @Test(.timeLimit(.minutes(4))) func programsDeployRunAndFailClearly() async throws {
        let tessera = try TesseraRunner()
        defer { tessera.folder.remove() }
        // A debug build runs WebAssembly slowly: a smaller fuel budget keeps the runaway loop short.
        let node = try await AuthCommandTests.startTLSNode(tessera, serveArguments: ["--program-fuel", "3000000"])
        defer { node.process.stop() }
        let folder = tessera.folder.path
        let examples = folder + "/wasm"
        let build = try await runExecutable(URL(fileURLWithPath: Self.repositoryRoot + "/examples/wasm/build"), [examples])
        #expect(build.status == 0, "examples/wasm/build: \(build.errorOutput)")

        // Deploy and run the examples.
        let deployStack = try await node.asOperator(["wasm", "deploy", "acme", "stack", examples + "/stack.wasm"])
        #expect(deployStack.status == 0 && deployStack.output.contains("push (i64, i64) -> (i64)"), "\(deployStack.errorOutput)")
        let deployCounter = try await node.asOperator(["wasm", "deploy", "acme", "counter", Self.repositoryRoot + "/examples/wasm/counter.wat"])
        #expect(deployCounter.status == 0 && deployCounter.output.contains("increment (i64) -> (i64)"), "\(deployCounter.errorOutput)")
        for (arguments, expected) in [(["push", "1", "5"], "0"), (["push", "1", "6"], "0"), (["pop", "1"], "6"), (["pop", "1"], "5"), (["pop", "1"], "-1")] {
            let run = try await node.asOperator(["wasm", "invoke", "acme", "stack"] + arguments)
            #expect(run.status == 0 && run.output.trimmingCharacters(in: .newlines) == expected, "stack \(arguments): \(run.output) \(run.errorOutput)")
        }
        let increment = try await node.asOperator(["wasm", "invoke", "acme", "counter", "increment", "3", "--verbose"])
        #expect(increment.status == 0 && increment.output.trimmingCharacters(in: .newlines) == "1" && increment.errorOutput.contains("ran on n1"), "\(increment.errorOutput)")
        let list = try await node.asOperator(["wasm", "list", "acme", "--json"])
        let programs = try #require(try JSONSerialization.jsonObject(with: list.standardOutput) as? [[String: Any]], "\(list.output)")
        #expect(programs.compactMap { $0["name"] as? String } == ["counter", "stack"])

        // Bad modules: exit 64, the part at fault named, nothing stored.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: folder + "/garbage.wasm"))
        try Data([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff]).write(to: URL(fileURLWithPath: folder + "/truncated.wasm"))
        let modules: [(String, String, String)] = [
            ("garbage.wasm", "", "does not assemble"),
            ("truncated.wasm", "", "does not parse"),
            ("wasi.wat", #"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))"#,
             "unsupported import wasi_snapshot_preview1.fd_write"),
            ("body.wat", #"(module (func (export "f") (result i32) (i32.add (i32.const 1) (i64.const 2))))"#, "invalid module"),
            ("huge.wat", #"(module (memory (export "memory") 1000))"#, "memory"),
        ]
        for (file, text, message) in modules {
            if !text.isEmpty { try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + file)) }
            let deploy = try await node.asOperator(["wasm", "deploy", "acme", "bad", folder + "/" + file])
            #expect(deploy.status == 64 && deploy.errorOutput.contains(message), "\(file): \(deploy.status) \(deploy.errorOutput)")
        }
        let badName = try await node.asOperator(["wasm", "deploy", "acme", "a/b", examples + "/stack.wasm"])
        #expect(badName.status == 64 && badName.errorOutput.contains("program name"), "\(badName.errorOutput)")
        let afterBad = try await node.asOperator(["wasm", "list", "acme"])
        #expect(!afterBad.output.contains("bad") && !afterBad.output.contains("a/b"), "a refused module was stored: \(afterBad.output)")

        // Bad invocations: exit 64; traps 70; limits 71; missing programs 1.
        let faults = folder + "/faults.wat"
        try Data(Self.faults.utf8).write(to: URL(fileURLWithPath: faults))
        #expect(try await node.asOperator(["wasm", "deploy", "acme", "faults", faults]).status == 0)
        let invocations: [([String], Int32, String)] = [
            (["stack", "nope"], 64, "no exported function named nope"),
            (["stack", "push", "1"], 64, "takes 2 arguments"),
            (["faults", "out_of_bounds"], 64, "outside the program's memory"),
            (["faults", "made_up"], 64, "not a pointer of account acme"),
            (["faults", "crash"], 70, "unreachable"),
            (["faults", "spin"], 71, "fuel limit exceeded"),
            (["faults", "grow"], 71, "memory limit exceeded"),
            (["missing", "f"], 1, "no program named missing"),
        ]
        for (arguments, status, message) in invocations {
            let run = try await node.asOperator(["wasm", "invoke", "acme"] + arguments)
            #expect(run.status == status && run.errorOutput.contains(message), "\(arguments): \(run.status) \(run.errorOutput)")
        }
        #expect(try await node.asOperator(["wasm", "remove", "acme", "missing"]).status == 1)

        // Grants reach into programs: a read-only key may read but its program may not write.
        let reader = try await node.createKey(["acme", "--read-only"])
        let readOnly = try await node.with(reader, ["wasm", "invoke", "acme", "counter", "increment", "3"])
        #expect(readOnly.status == 77 && readOnly.errorOutput.contains("may only read account acme"), "\(readOnly.errorOutput)")
        let value = try await node.with(reader, ["wasm", "invoke", "acme", "counter", "value", "3"])
        #expect(value.status == 0 && value.output.trimmingCharacters(in: .newlines) == "1", "the read-only invocation wrote: \(value.output) \(value.errorOutput)")
        let other = try await node.createKey(["other"])
        let elsewhere = try await node.with(other, ["wasm", "invoke", "acme", "counter", "value", "3"])
        #expect(elsewhere.status == 77 && elsewhere.errorOutput.contains("acme"), "\(elsewhere.errorOutput)")
        // The other account's program cannot see acme's counter: its words are its own.
        #expect(try await node.with(other, ["wasm", "deploy", "other", "counter", examples + "/counter.wasm"]).status == 0)
        let own = try await node.with(other, ["wasm", "invoke", "other", "counter", "value", "3"])
        #expect(own.status == 0 && own.output.trimmingCharacters(in: .newlines) == "0", "\(own.output) \(own.errorOutput)")

        let removed = try await node.asOperator(["wasm", "remove", "acme", "stack"])
        #expect(removed.status == 0, "\(removed.errorOutput)")
        #expect(try await node.asOperator(["wasm", "invoke", "acme", "stack", "pop", "1"]).status == 1)
        #expect(node.process.isRunning, "the node stopped: \(node.process.output)")
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Programs that fail in each way a guest can.
    static let faults = """
    (module
      (import "tessera" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "out_of_bounds") (result i32)
        (call $load (i32.const 65530) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 8)))
      (func (export "made_up") (result i32)
        (memory.fill (i32.const 512) (i32.const 0x41) (i32.const 64))
        (call $load (i32.const 512) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 8)))
      (func (export "crash") (unreachable))
      (func (export "spin") (loop $forever (br $forever)))
      (func (export "grow") (result i32) (memory.grow (i32.const 1000)))
    )
    """
}
