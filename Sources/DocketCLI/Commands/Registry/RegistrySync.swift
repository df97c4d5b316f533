import ArgumentParser
import DocketCore
import DocketRegistry

extension Docket.RegistryCommand {
    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync",
            abstract: "Put every environment tag that disagrees with the ledger back on the ledger's current digest.",
            discussion:
                "The tags are those `registry check` checks. Each that points elsewhere, or is missing, is put back on the digest the ledger says is current in the environment (the manifest's bytes by digest, put under the tag). Nothing is appended: the ledger already says what runs, and the registry is made to agree; what moved is printed (--json: listed). --dry-run only says what would move. Exit 0 when every tag agrees afterwards, 3 when the registry cannot be asked or refuses."
        )

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "The environment.") var env: String

        @Option(name: .long, help: "Only this repository.") var repo: String?

        @Flag(name: .long, help: "Say what would move; move nothing.") var dryRun = false

        func run() throws {
            let ledger = try options.open(readOnly: true)
            let registry = try RegistryClient()
            let rows = try Check.rows(ledger, env: env, repo: repo, registry: registry)
            var moved: [Move] = []
            for row in rows where row.state.disagrees {
                guard let current = row.ledger else { continue }
                let digest = try Digest(parsing: current)
                if !dryRun {
                    try registry.retag(try Repository(normalized: row.registryRepository), digest: digest, tag: row.tag)
                }
                moved.append(
                    Move(
                        repository: row.registryRepository, tag: row.tag, from: row.registry, to: current,
                        ledgerIndex: row.ledgerIndex))
            }
            try options.output(Report(environment: env, moved: moved, dryRun: dryRun)) {
                guard !rows.isEmpty else {
                    return
                        "no registry tags to sync in \(env): no pipeline names registry.tags for it, and no promotion there moved any"
                }
                guard !moved.isEmpty else { return "every tag in \(env) already agrees with the ledger" }
                return moved.map { move in
                    "\(dryRun ? "would move" : "moved") \(move.repository):\(move.tag) from \(move.from ?? "(missing)") to \(move.to) (current in \(env) since entry \(move.ledgerIndex ?? 0))"
                        .terminalSafe(keepNewlines: false)
                }.joined(separator: "\n")
            }
        }

        struct Move: Encodable {
            var repository: String
            var tag: String
            /// Where the tag pointed (nil: it was missing).
            var from: String?
            var to: String
            var ledgerIndex: Int?
        }

        struct Report: Encodable {
            var environment: String
            var moved: [Move]
            var dryRun: Bool
        }
    }
}
