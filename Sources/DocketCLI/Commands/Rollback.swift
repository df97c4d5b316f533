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
            guard let current = try ledger.current(environment: env) else {
                throw CLIError.no("nothing is current in \(env); there is nothing to roll back")
            }
            let target: TimelineEntry
            if let to {
                let digest = try ImageReference(parsing: to).digest
                guard digest.description != current.digest else {
                    throw CLIError.no("\(digest) is already current in \(env)")
                }
                guard let match = try ledger.lastStint(of: digest, in: env) else {
                    let all = try ledger.rollbackTargets(environment: env, excludingRolledBack: false)
                    throw CLIError.no(
                        "\(digest) never ran in \(env) before; valid targets: "
                            + (all.isEmpty
                                ? "none" : all.map { "\($0.digest) (since entry \($0.index))" }.joined(separator: ", "))
                    )
                }
                target = match
            } else {
                guard let first = try ledger.rollbackTargets(environment: env, excludingRolledBack: true).first else {
                    let named = try ledger.rollbackTargets(environment: env, excludingRolledBack: false).map(\.digest)
                    throw CLIError.no(
                        named.isEmpty
                            ? "\(env) has no earlier digest to roll back to"
                            : "\(env) has no default rollback target (the earlier digests were rolled back from); name one with --to: \(named.joined(separator: ", "))"
                    )
                }
                target = first
            }
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: target.repository, subjectDigest: String(target.digest.dropFirst(7)),
                predicate: .rolledBack(.init(environment: env, from: current.digest, reason: reason)), ledger: ledger)
        }
    }
}
