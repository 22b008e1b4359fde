import ArgumentParser
import Server

/// Per-account request rates on each node (`serve`, passed on by `dev`).
struct AccountRateOptions: ParsableArguments {
    @Option(name: .customLong("account-write-units"),
            help: "Write units per second each account may use on each node, or `unlimited`. A write costs one unit per started KiB of its keys and values.")
    var writeUnits = RateLimit(AccountRates().writeUnitsPerSecond)

    @Option(name: .customLong("account-read-units"),
            help: "Read units per second each account may use on each node, or `unlimited`. A get or a query page costs one unit.")
    var readUnits = RateLimit(AccountRates().readUnitsPerSecond)

    @Option(name: .customLong("account-burst-seconds"),
            help: "Seconds of its rate an idle account may spend at once.")
    var burstSeconds = AccountRates().burstSeconds

    func validate() throws {
        guard burstSeconds > 0, burstSeconds <= 3_600 else {
            throw ValidationError("--account-burst-seconds must be above 0 and at most 3600, not \(burstSeconds)")
        }
    }

    var rates: AccountRates {
        AccountRates(writeUnitsPerSecond: writeUnits.perSecond, readUnitsPerSecond: readUnits.perSecond, burstSeconds: burstSeconds)
    }

    /// The same settings as `tessera serve` flags.
    var serveArguments: [String] {
        ["--account-write-units", writeUnits.description, "--account-read-units", readUnits.description,
         "--account-burst-seconds", "\(burstSeconds)"]
    }
}

/// A rate in units per second, or none.
struct RateLimit: ExpressibleByArgument, CustomStringConvertible {
    let perSecond: Double?

    init(_ perSecond: Double?) { self.perSecond = perSecond }

    init?(argument: String) {
        if argument.lowercased() == "unlimited" {
            perSecond = nil
        } else if let value = Double(argument), value >= 1, value.isFinite {
            perSecond = value
        } else {
            return nil
        }
    }

    var description: String {
        guard let perSecond else { return "unlimited" }
        return perSecond == perSecond.rounded() ? String(Int(perSecond)) : String(perSecond)
    }

    var defaultValueDescription: String { description }
}
