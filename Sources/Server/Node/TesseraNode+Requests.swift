import Credentials
import Wire

/// Serving a client's request: who sent it (``AccessControl``), whether its
/// grants allow it in every account it names, then the account's rate, then
/// the cell's shard.
extension TesseraNode: RequestRouter {
    func handle(_ request: ClientRequest, credential: ConnectionCredential, replies: ChannelOutbox) {
        let responder = Responder(replies: replies, requestID: request.id)
        switch access.resolve(credential) {
        case .subject(let subject):
            serve(request.body, as: subject, responder: responder)
        case .refused(let answer):
            responder.send(answer)
        case .readKeys(let demand):
            Task {
                switch await access.resolveAfterReading(credential, demand: demand) {
                case .subject(let subject): serve(request.body, as: subject, responder: responder)
                case .refused(let answer): responder.send(answer)
                case .readKeys: responder.send(.error(.unavailable, "access keys cannot be checked now; retry"))
                }
            }
        }
    }

    private func serve(_ body: ClientRequest.Body, as subject: Subject, responder: Responder) {
        switch body {
        case .clusterInfo:
            responder.send(.clusterInfo(layout.clusterInfo))
        case .nodeStatus:
            Task { responder.send(.nodeStatus(await status())) }
        case .whoAmI:
            responder.send(.principal(name: subject.name, grants: subject.grants.byAccount.sorted { $0.key < $1.key }
                .map { WireGrant(account: $0.key, permissions: $0.value.rawValue) }))
        case .createAccessKey(let grants, let expiresInSeconds):
            Task { responder.send(await administration.create(grants, expiresInSeconds: expiresInSeconds, by: subject)) }
        case .listAccessKeys:
            Task { responder.send(await administration.list(for: subject)) }
        case .revokeAccessKey(let id):
            Task { responder.send(await administration.revoke(id, by: subject)) }
        case .deployProgram(let account, let name, let module):
            Task { responder.send(await programs.deploy(account: account, name: name, module: module, by: subject)) }
        case .invokeProgram(let account, let name, let export, let arguments):
            if let refusal = admission.admit(account: account, kind: .read, units: 1, now: services.clock()) {
                return responder.send(refusal)
            }
            Task { responder.send(await programs.invoke(account: account, name: name, export: export, arguments: arguments, by: subject)) }
        case .listPrograms(let account):
            Task { responder.send(await programs.list(account: account, by: subject)) }
        case .removeProgram(let account, let name):
            Task { responder.send(await programs.remove(account: account, name: name, by: subject)) }
        case .write, .get, .query, .queueWrite, .queueRead, .queueStatus, .queuePosition:
            serveCellRequest(body, as: subject, responder: responder)
        }
    }

    private func serveCellRequest(_ body: ClientRequest.Body, as subject: Subject, responder: Responder) {
        let parsed: ParsedRequest
        let parsing = switch body {
        case .queueWrite, .queueRead, .queueStatus, .queuePosition: layout.parseQueue(body, nowMilliseconds: services.wallClockMilliseconds())
        default: layout.parse(body)
        }
        switch parsing {
        case .failure(let failure): return responder.send(.error(.badRequest, failure.message))
        case .success(let success): parsed = success
        }
        let isWrite = if case .write = parsed.operation { true } else { false }
        for account in parsed.accounts {
            if let refusal = subject.refusal(isWrite ? .write : .read, in: account) {
                return responder.send(.error(.forbidden, refusal))
            }
        }
        if let refusal = admission.admit(account: parsed.account, kind: isWrite ? .write : .read, units: parsed.units,
                                         now: services.clock()) {
            return responder.send(refusal)
        }
        let cell = parsed.cell
        let shard = shard(of: cell)
        switch parsed.operation {
        case .write(let command):
            shard.loop.execute { shard.write(command, cell: cell, responder: responder) }
        case .read(let read, let consistency):
            shard.loop.execute { shard.read(read, consistency: consistency, cell: cell, responder: responder) }
        }
    }
}
