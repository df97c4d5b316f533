import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Gate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether a digest may be promoted to an environment, rule by rule.",
            discussion: "Exit 0 when eligible, 1 when not. With --at, answers as of an entry index or a time.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "The digest (sha256:…, or REPOSITORY@sha256:…).")
        var digest: String

        @Option(name: .long, help: "The target environment.")
        var env: String

        @Option(name: .long, help: "Evaluate as of an entry index or an RFC 3339 time.")
        var at: String?

        @Option(
            name: .long,
            help: "The identity who would promote: with separation of duties, their own approval does not count.")
        var promoter: String?

        func run() throws {
            let reference = try ImageReference(parsing: digest)
            let ledger = try options.open(readOnly: true)
            let point = try LedgerPoint(at, in: ledger)
            let verdict = try ledger.gate(
                digest: reference.digest, environment: env, before: point.bound, at: point.time, promoter: promoter)
            try options.output(verdict) { Render.verdict(verdict) }
            if !verdict.eligible { throw ExitCode(ExitStatus.no) }
        }
    }
}
