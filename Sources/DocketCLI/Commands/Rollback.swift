import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Restore a service's previous digest in an environment (or a named one that ran there before).",
            discussion: """
                Needs a reason, no approvals. In drift (the environment was seen running a digest it was never \
                promoted to), restores the promoted digest. A target with an open incident needs --break-glass \
                REASON, which verify lists. Approvals of the rolled-back digest for this environment stop counting. \
                --list shows the targets a rollback may choose, newest first.
                """)

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Option(name: .long, help: "The environment to roll back.")
        var env: String

        @Option(name: .long, help: "The service (repository); needed when several run in the environment.")
        var repo: String?

        @Option(name: .long, help: "The digest to restore (default: the previous one, or in drift the promoted one).")
        var to: String?

        @Option(name: .long, help: "Why (recorded in the ledger).")
        var reason: String?

        @Option(name: .long, help: "Restore a digest with an open incident anyway, for this reason.")
        var breakGlass: String?

        @Flag(name: .long, help: "List the rollback targets instead of rolling back.")
        var list = false

        func validate() throws {
            if list { return }
            guard let reason, reason.contains(where: { !$0.isWhitespace }) else {
                throw ValidationError("--reason must not be empty: say why")
            }
            if let breakGlass, !breakGlass.contains(where: { !$0.isWhitespace }) {
                throw ValidationError(
                    "--break-glass needs a reason: say why a digest with an open incident is restored")
            }
        }

        func run() throws {
            let client = try options.client(readOnly: list)
            let answer = try options.ask(
                RollbackQuestion(environment: env, repository: repo, to: to, list: list), readOnly: list)
            if list { return try printTargets(answer) }
            guard let choice = answer.choice else { throw CLIError.no("nothing can be rolled back in \(env)") }
            if !choice.openIncidents.isEmpty && breakGlass == nil {
                throw LedgerError.refused(
                    .rollbackTargetIncident(digest: choice.target.digest.description, incidents: choice.openIncidents))
            }
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: choice.target.repository, subjectDigest: choice.target.digest.hex,
                predicate: .rolledBack(
                    .init(
                        environment: env, from: choice.leaving, reason: reason ?? "",
                        breakGlass: choice.openIncidents.isEmpty ? nil : breakGlass.map { .init(reason: $0) })),
                client: client)
            if let drift = choice.drift, !options.json {
                Terminal.out(
                    "  out of drift: \(drift.digest) was observed at entry \(drift.index); the promoted digest is restored"
                )
            }
        }

        private func printTargets(_ answer: RollbackQuestion.Answer) throws {
            let (repository, choice, targets) = (answer.repository, answer.choice, answer.targets ?? [])
            struct Output: Encodable {
                var environment: String
                var repository: String
                var defaultTarget: String?
                var targets: [TimelineEntry]
            }
            try options.output(
                Output(
                    environment: env, repository: repository, defaultTarget: choice?.target.digest.description,
                    targets: targets)
            ) {
                var lines = [
                    "rollback targets for \(repository) in \(env), newest first:".terminalSafe(keepNewlines: false)
                ]
                lines.append(
                    Terminal.table(
                        [["DIGEST", "CURRENT FROM", "VIA", "CHOICE"]]
                            + targets.map {
                                [
                                    $0.digest.description, "\($0.time.rfc3339) (#\($0.index))", $0.kind.rawValue,
                                    $0.digest == choice?.target.digest ? "default" : "",
                                ]
                            }))
                if targets.isEmpty { lines.append("  none: nothing ran there before the current digest") }
                return lines.joined(separator: "\n")
            }
        }
    }
}
