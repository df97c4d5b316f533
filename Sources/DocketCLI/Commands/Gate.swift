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
            let verdicts = try options.ask(GateQuestion(image: digest, environment: env, at: at, promoter: promoter))
            if env != nil, let verdict = verdicts.first {
                try options.output(verdict) { Render.verdict(verdict) }
            } else {
                try options.output(verdicts) { verdicts.map(Render.verdict).joined(separator: "\n") }
            }
            if !verdicts.allSatisfy(\.eligible) { throw ExitCode(ExitStatus.no) }
        }
    }
}
