import ArgumentParser
import Client
import CommandSupport
import Foundation
import Machine
import Wire

/// `tessera wasm`: programs of the VM, stored in the cluster and run on its nodes.
struct WasmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wasm",
        abstract: "Deploy, invoke, list and remove WebAssembly programs.",
        discussion: """
            A program is a WebAssembly module whose imports are the host calls of module
            "tessera" (pointer, load, compare, write, cas, unique_id, log; see the README's
            "Programs" section and examples/wasm/tessera.h). Its words are items of the
            caller's account: a program cannot reach another account's memory. Each host
            call is linearizable; an invocation is not a transaction (calls made stand if
            it fails), which is why the shipped structures are lock-free.

            Limits per invocation (defaults): \(MachineLimits.defaults.fuel) fuel, \
            \(MachineLimits.defaults.memoryBytes >> 20) MiB of memory, \
            \(MachineLimits.defaults.deadline) wall clock, \
            \(MachineLimits.defaults.hostCalls) host calls. Exit statuses: 64 bad module, \
            import, export, arguments or host-call input (nothing was stored or done); \
            70 the program trapped; 71 a limit was exceeded; 1 no such program; 77/80 \
            refused credentials.

            Examples:
              examples/wasm/build                               # C examples to examples/wasm/.build
              tessera wasm deploy acme stack examples/wasm/.build/stack.wasm
              tessera wasm deploy acme counter examples/wasm/counter.wat
              tessera wasm invoke acme stack push 1 42
              tessera wasm invoke acme stack pop 1
              tessera wasm list acme
              tessera wasm remove acme stack
            """,
        subcommands: [Deploy.self, Invoke.self, List.self, Remove.self]
    )

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a module (.wasm, or .wat text) and store it as a program of the account.",
            discussion: "Every function body is compiled at deploy, so a bad module fails here and nothing is stored. Deploying a name again replaces the program (every node runs the new one within 2 seconds).")

        @Argument(help: "The account the program belongs to and acts on.") var account: String
        @Argument(help: "The program's name (letters, digits, '.', '_', '-').") var name: String
        @Argument(help: "A .wasm module, or a .wat file in the text format.") var file: String
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let module = try Self.readModule(file)
            let program = try await withCluster(endpoint, write: true) {
                try await $0.deployProgram(account: account, name: name, module: module)
            }
            if json { return writeLine(encodeJSON(ProgramJSON(program))) }
            writeLine("deployed \(program.name): \(program.sizeBytes) bytes, sha256 \(program.sha256), version \(program.version)")
            for export in program.exports { writeLine("  \(export.name) \(export.signature)") }
        }

        /// The module's bytes: read, and assembled first when the file is in the text format.
        static func readModule(_ path: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw commandFailure("cannot read module file \(path)", status: ExitStatus.badInput)
            }
            let bytes = [UInt8](data)
            // The binary format starts with "\0asm"; anything else is taken for the text format.
            if bytes.starts(with: [0x00, 0x61, 0x73, 0x6d]) { return bytes }
            guard let text = String(bytes: bytes, encoding: .utf8) else {
                throw commandFailure("\(path) is neither a WebAssembly module nor UTF-8 text", status: ExitStatus.badInput)
            }
            do {
                return try ProgramRunner.assemble(text: text)
            } catch {
                throw commandFailure("\(path): \(error)", status: ExitStatus.badInput)
            }
        }
    }

    struct Invoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an export of a program with integer arguments; print each result on its own line.",
            discussion: """
                The client sends the invocation to one member, chosen at random to spread the
                load (any member runs any program; its host calls go to each word's cell
                leader). It is sent once: if that member fails while running it, the command
                exits 69 and the program may have run in part. Standard error names the node
                that ran it and the program's log lines; --verbose adds the fuel and host
                calls it used and its time.
                """)

        @Argument(help: "The account the program belongs to and acts on.") var account: String
        @Argument(help: "The program's name.") var name: String
        @Argument(help: "The exported function to run.") var export: String
        @Argument(help: "Integer arguments (i32 or i64, as the export declares).") var arguments: [Int64] = []
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false
        @Flag(name: .shortAndLong, help: "Also print what it used: fuel, host calls, time (on standard error).") var verbose = false

        func run() async throws {
            // Not `write: true`: the client's own message says what an unknown outcome means for a program.
            let invocation = try await withCluster(endpoint) {
                try await $0.invoke(account: account, program: name, export: export, arguments: arguments)
            }
            if json { return writeLine(encodeJSON(InvocationJSON(invocation))) }
            for result in invocation.results { writeLine("\(result)") }
            for line in invocation.logs { printToStandardError("log: \(line)") }
            let usage = verbose
                ? ": \(invocation.fuelUsed) fuel, \(invocation.hostCalls) host calls, \(invocation.elapsedMicroseconds) µs" : ""
            printToStandardError("ran on \(invocation.node) (the member this client picked at random; any member runs programs)\(usage)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an account's programs with their exports.")
        @Argument(help: "The account.") var account: String
        @OptionGroup var endpoint: EndpointOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let programs = try await withCluster(endpoint) { try await $0.listPrograms(account: account) }
            if json { return writeLine(encodeJSON(programs.map(ProgramJSON.init))) }
            if programs.isEmpty { return printToStandardError("account \(account) has no programs") }
            for program in programs {
                writeLine("\(program.name)\t\(program.sizeBytes) bytes\tsha256 \(program.sha256.prefix(16))…\tversion \(program.version)")
                for export in program.exports { writeLine("  \(export.name) \(export.signature)") }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a program (exit 1 when there is none).")
        @Argument(help: "The account.") var account: String
        @Argument(help: "The program's name.") var name: String
        @OptionGroup var endpoint: EndpointOptions

        func run() async throws {
            try await withCluster(endpoint, write: true) { try await $0.removeProgram(account: account, name: name) }
            writeLine("removed \(name)")
        }
    }
}

private struct ProgramJSON: Encodable {
    struct Export: Encodable { let name: String; let signature: String }
    let name: String
    let sizeBytes: UInt32
    let version: UInt64
    let sha256: String
    let exports: [Export]

    init(_ program: WireProgram) {
        name = program.name
        sizeBytes = program.sizeBytes
        version = program.version
        sha256 = program.sha256
        exports = program.exports.map { Export(name: $0.name, signature: $0.signature) }
    }
}

private struct InvocationJSON: Encodable {
    let node: String
    let results: [Int64]
    let fuelUsed: UInt64
    let hostCalls: UInt32
    let elapsedMicroseconds: UInt64
    let logs: [String]

    init(_ invocation: WireInvocation) {
        node = invocation.node
        results = invocation.results
        fuelUsed = invocation.fuelUsed
        hostCalls = invocation.hostCalls
        elapsedMicroseconds = invocation.elapsedMicroseconds
        logs = invocation.logs
    }
}
