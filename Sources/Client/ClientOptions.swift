import Credentials

/// How a ``TesseraClient`` connects, waits and retries.
public struct ClientOptions: Sendable {
    /// How long one call may take in all, retries included, before it fails with a timeout.
    public var deadline: Duration = .seconds(10)
    /// How long ``TesseraClient/invoke(account:program:export:arguments:)`` waits for the
    /// member running the program: longer than a node's default wall-clock limit per
    /// invocation (10 s), so that the node's typed "deadline limit exceeded" arrives first.
    public var invocationTimeout: Duration = .seconds(30)
    /// First pause between retries; it doubles up to ``backoffMaximum``, with jitter.
    public var backoffInitial: Duration = .milliseconds(20)
    public var backoffMaximum: Duration = .milliseconds(500)
    /// How long one attempt waits for a node's answer before trying another replica.
    public var attemptTimeout: Duration = .seconds(3)
    /// How long to wait for a TCP connection to a node.
    public var connectTimeout: Duration = .seconds(1)
    /// Threads of the event loop group the client creates when it is not given one.
    public var eventLoopThreads: Int = 1
    /// The id that makes this client's writes idempotent on retry (with a per-write
    /// sequence). `nil` picks a random one, which is what you want: two live clients
    /// must never share an id.
    public var clientID: UInt64? = nil
    /// The cluster CA and this client's certificate (`client:<name>`): connections
    /// are TLS 1.3 and accept only nodes whose certificate the CA signed for a
    /// member. Nil: plaintext, for nodes run with `--insecure-plaintext`.
    /// Load them with ``TLSCredentialFiles/load(now:)``.
    public var tls: TLSCredentials? = nil
    /// An access key to prove who this client is, instead of a client
    /// certificate (then ``tls`` need only trust the CA:
    /// ``TLSCredentials/trustingOnly(certificateAuthority:)``). Its secret
    /// travels inside TLS; to a plaintext cluster it travels in the clear.
    public var accessKey: AccessKey? = nil
    /// With neither ``tls`` nor ``accessKey``, use the `tessera dev` cluster's
    /// client credential from ./.tessera when the endpoints are that cluster's
    /// members, so that a program run beside `tessera dev` needs no setup.
    public var usesDevClusterCredentials = true

    public init() {}
}
