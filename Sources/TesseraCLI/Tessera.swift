import ArgumentParser

@main
struct Tessera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "A distributed, strongly consistent key-value and queue store.",
        discussion: """
            Keys have the form account/resource/type/primaryKey[/sortKey], where type is
            'rnd' (tables) or 'lnr' (queues). A '/' or '%' inside a part is written %2F or
            %25.

            put, get, delete, query and cas talk to a cluster: the nodes at --endpoint,
            by default the local one `tessera dev` runs. With --data-dir they use an
            embedded store in that folder instead, with no server.

            Examples:
              tessera dev                                # 3 nodes on 127.0.0.1:7101-7103
              tessera put acme/users/rnd/alice/v1 hello  # in another terminal
              tessera get acme/users/rnd/alice/v1
              tessera cas acme/users/rnd/alice/v1 bye --expected hello
              tessera status                             # members, leaders, lag
              tessera put acme/users/rnd/alice/v1 hello --endpoint 10.0.0.5:7101
              tessera put acme/users/rnd/alice/v1 hello --data-dir .tessera/local
              tessera locate acme/users/rnd/alice/v1
              tessera simulate --seed 42                 # a seeded simulation

            Benchmarks live in the `tessera-bench` executable beside this one.
            """,
        subcommands: [
            DevCommand.self, ServeCommand.self, StatusCommand.self,
            PutCommand.self, GetCommand.self, DeleteCommand.self, QueryCommand.self, CasCommand.self,
            LocateCommand.self, QueueCommand.self, AuthCommand.self, WasmCommand.self, CredentialsCommand.self, SimulateCommand.self, ExploreCommand.self,
        ]
    )
}
