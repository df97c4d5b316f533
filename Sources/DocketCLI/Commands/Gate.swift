import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Gate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gate",
            abstract: "Say whether a digest may be promoted to an environment, rule by rule.",
            discussion: """
                Without --env, answers for every gated environment of the digest's pipeline. Exit 0 when eligible \
                (for every environment asked about), 1 when not. With --at, answers as of an entry index or a time.
                """)

        @OptionGroup var options: LedgerOptions

        @Argument(help: "The digest (sha256:…, or REPOSITORY@sha256:…).")
        var digest: String

        @Option(name: .long, help: "The target environment (default: every gated environment of the pipeline).")
        var env: String?

        @Option(name: .long, help: "Evaluate as of an entry index or an RFC 3339 time.")
        var at: String?

        @Option(
            name: .long,
            help: "The identity who would promote: with separation of duties, their own approval does not count.")
        var promoter: String?

        func run() throws {
            let ledger = try options.open(readOnly: true)
            let (digest, repository) = try ledger.resolve(try ImageReference(parsing: self.digest))
            let point = try LedgerPoint(at, in: ledger)
            if let env {
                // An environment the pipeline does not have is a typing mistake, not a "no".
                if let pipeline = try? ledger.pipeline(for: repository, before: point.bound),
                    pipeline.environment(env) == nil
                {
                    throw LedgerError.notInPolicy(environment: env, known: pipeline.environmentNames)
                }
                let verdict = try ledger.gate(
                    digest: digest, repository: repository, environment: env, before: point.bound, at: point.time,
                    promoter: promoter)
                try options.output(verdict) { Render.verdict(verdict) }
                if !verdict.eligible { throw ExitCode(ExitStatus.no) }
                return
            }
            let verdicts = try ledger.gates(
                digest: digest, repository: repository, before: point.bound, at: point.time, promoter: promoter)
            try options.output(verdicts) { verdicts.map(Render.verdict).joined(separator: "\n") }
            if !verdicts.allSatisfy(\.eligible) { throw ExitCode(ExitStatus.no) }
        }
    }
}
