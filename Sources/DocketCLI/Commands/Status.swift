import ArgumentParser
import DocketCore

extension Docket {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each environment's digest, since when, who put it there, tags, rollback target and drift.")

        @OptionGroup var options: LedgerOptions

        func run() throws {
            let status = try options.open(readOnly: true).status()
            try options.output(status) { Render.status(status) }
        }
    }
}
