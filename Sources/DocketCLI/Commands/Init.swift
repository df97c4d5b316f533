import ArgumentParser
import DocketCore

extension Docket {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a ledger: the SQLite file, its log key, and the genesis entry enrolling the first admin.")

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "The ledger's origin, its global name (for example ledger.example.com/payments).")
        var origin: String

        @OptionGroup var signing: SigningOptions

        func run() throws {
            let admin = try signing.loadKeyFile(for: "the first admin")
            let ledger = try Ledger.create(path: options.path, origin: origin, admin: admin)
            let verifier = try ledger.logVerifierKey()
            try options.output([
                "ledger": options.path, "origin": origin, "logKey": verifier.text, "admin": admin.identity,
            ]) {
                """
                created ledger \(options.path) for \(origin)
                  admin    \(admin.identity)
                  log key  \(Ledger.logKeyPath(for: options.path)) (keep it private; it signs checkpoints)
                  verifier \(verifier.text)
                """
            }
        }
    }
}
