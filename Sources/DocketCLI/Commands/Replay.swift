import ArgumentParser
import DocketCore

extension Docket {
    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay",
            abstract: "Show the status as it was at an entry index or a time.")

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "An entry index, or an RFC 3339 time.")
        var at: String

        func run() throws {
            let status = try options.ask(StatusQuestion(repository: nil, at: at)).status
            try options.output(status) { Render.status(status, detailed: false) }
        }
    }
}
