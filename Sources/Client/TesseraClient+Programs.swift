import Wire

/// Programs of the VM: deploy, list, remove and invoke. Deploy checks the
/// module on the node (a bad one is refused and nothing is stored); invoke
/// runs an export on one member, whose host calls reach each word's cell leader.
extension TesseraClient {
    /// Checks and stores `module` (WebAssembly binary) as program `name` of `account`, replacing one of that name.
    public func deployProgram(account: String, name: String, module: [UInt8]) async throws -> WireProgram {
        let operation = "deploy program \(name)"
        let answer = try await askAnyMember(operation, .deployProgram(account: account, name: name, module: module))
        guard case .programDeployed(let program) = answer else { throw unexpected(operation, answer) }
        return program
    }

    public func listPrograms(account: String) async throws -> [WireProgram] {
        let answer = try await askAnyMember("list programs", .listPrograms(account: account))
        guard case .programs(let programs) = answer else { throw unexpected("list programs", answer) }
        return programs
    }

    /// Removes a program; ``TesseraClientError/program(_:_:)`` with `.notFound` when there is none.
    public func removeProgram(account: String, name: String) async throws {
        let operation = "remove program \(name)"
        let answer = try await askAnyMember(operation, .removeProgram(account: account, name: name))
        guard case .written = answer else { throw unexpected(operation, answer) }
    }

    /// Runs `export` of program `name` with integer arguments on one member.
    ///
    /// An invocation is not idempotent, so it is sent once: another member is
    /// tried only when nothing ran (no connection, or the member answered that
    /// it is overloaded or stopping). When the member fails after receiving it,
    /// the error is ``TesseraClientError/outcomeUnknown(_:)``: the program may
    /// have run, wholly or in part (its host calls are not transactional).
    public func invoke(account: String, program name: String, export: String, arguments: [Int64] = []) async throws -> WireInvocation {
        let operation = "invoke \(name).\(export)"
        let body = ClientRequest.Body.invokeProgram(account: account, name: name, export: export, arguments: arguments)
        var notRun: [String] = []
        // A member that left an invocation unanswered (stopped, overloaded) is tried last for a while.
        for memberID in router.anyMemberOrder(router.table.memberIDs) {
            guard let endpoint = router.table.endpoint(of: memberID) else { continue }
            let connection: NodeConnection
            do {
                connection = try await pool.connection(to: endpoint)
            } catch let failure as TransportFailure where failure.kind == .credentialsRefused {
                throw TesseraClientError.unauthenticated("\(operation): \(memberID): \(failure.reason)")
            } catch {
                notRun.append("\(memberID): \(error)")
                continue
            }
            let answer: ClientResponse.Body
            do {
                answer = try await connection.send(body, timeout: options.invocationTimeout)
            } catch {
                router.markUnresponsive(memberID, for: .seconds(10))
                throw TesseraClientError.outcomeUnknown(
                    "\(operation): \(memberID) did not answer (\(error)); the program may have run, wholly or in part")
            }
            switch answer {
            case .invoked(let invocation):
                return invocation
            case .error(let code, let message):
                if let refusal = TesseraClientError.refusal(code, "\(operation): \(message)") { throw refusal }
                if code == .overloaded || code == .shuttingDown {
                    notRun.append("\(memberID): \(message)")
                    continue
                }
                if code == .unavailable || code == .timeout {
                    throw TesseraClientError.outcomeUnknown("\(operation): \(memberID): \(message); the program may have run in part")
                }
                throw TesseraClientError.internalError("\(operation): \(memberID) failed: \(message)")
            default:
                throw unexpected(operation, answer)
            }
        }
        throw TesseraClientError.unavailable("\(operation): no member ran it (\(notRun.joined(separator: "; ")))")
    }
}
