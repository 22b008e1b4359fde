import ArgumentParser

@main
struct Tessera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "A distributed, strongly consistent key-value and queue store.",
        discussion: """
            Keys have the form account/resource/type/primaryKey[/sortKey], where type is
            'rnd' (tables) or 'lnr' (queues). A '/' or '%' inside a part is written %2F or %25.

            Examples:
              tessera locate acme/users/rnd/alice/v1
              tessera locate acme/users/rnd/alice --members examples/members.json
              tessera put acme/users/rnd/alice/v1 hello      # in ./.tessera/local
              tessera get acme/users/rnd/alice/v1
              tessera simulate --seed 42                    # a seeded cluster simulation
              tessera bench keyspace
            """,
        subcommands: [
            LocateCommand.self, PutCommand.self, GetCommand.self, DeleteCommand.self, QueryCommand.self,
            SimulateCommand.self, ExploreCommand.self, BenchCommand.self,
        ]
    )
}
