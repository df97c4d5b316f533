import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore the previous digest of an environment (or a named one that ran there before).",
            discussion:
                "Needs a reason, no approvals. Approvals of the rolled-back digest for this environment stop counting.")

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Option(name: .long, help: "The environment to roll back.")
        var env: String

        @Option(name: .long, help: "The digest to restore (default: the previous one).")
        var to: String?

        @Option(name: .long, help: "Why (recorded in the ledger).")
        var reason: String

        func validate() throws {
            guard reason.contains(where: { !$0.isWhitespace }) else {
                throw ValidationError("--reason must not be empty: say why")
            }
        }

        func run() throws {
            let ledger = try options.open()
            let choice = try ledger.rollbackChoice(
                environment: env, to: try to.map { try ImageReference(parsing: $0).digest })
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: choice.target.repository, subjectDigest: choice.target.digest.hex,
                predicate: .rolledBack(
                    .init(environment: env, from: choice.current.digest.description, reason: reason)),
                ledger: ledger)
        }
    }
}
