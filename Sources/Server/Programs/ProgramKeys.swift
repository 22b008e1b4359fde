import Keyspace

/// Where an account's programs live: every module of the account in one
/// collection, `<account>/tessera-programs/rnd/programs`, its name as the sort
/// key, so one query lists them. Each is one item, replicated like any other.
enum ProgramKeys {
    static let resource = "tessera-programs"

    static func collection(_ account: String) throws(KeyError) -> Key {
        try Key(account: account, resource: resource, type: .rnd, primaryKey: Array("programs".utf8))
    }

    static func program(_ name: String, account: String) throws(KeyError) -> Key {
        try collection(account).withSortKey(Array(name.utf8))
    }

    /// Letters, digits, `.`, `_` and `-`: a name the CLI can take as an argument and show as is.
    static func nameProblem(_ name: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...128).contains(name.count) else { return "a program name has 1 to 128 characters, not \(name.count)" }
        guard name.allSatisfy(allowed.contains) else {
            return "program name \"\(name)\" may hold only letters, digits, '.', '_' and '-'"
        }
        return nil
    }
}
