import ArgumentParser
import DocketCore

extension Docket {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show what runs where: a services × environments table, drift, open incidents and freezes.",
            discussion:
                "With --repo, one service in detail: each environment's digest, since when, who put it there, tags, rollback target, drift and rollback plan."
        )

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "Only this service (repository).")
        var repo: String?

        @Flag(name: .long, help: "Also list every incident ever recorded (open and resolved).")
        var incidents = false

        func run() throws {
            let answer = try options.ask(StatusQuestion(repository: repo, incidents: incidents))
            let (status, repository) = (answer.status, repo)
            if incidents {
                struct Output: Encodable {
                    var status: LedgerStatus
                    var incidents: [IncidentRecord]
                }
                let all = answer.incidents ?? []
                try options.output(Output(status: status, incidents: all)) {
                    Render.status(status, detailed: repository != nil) + "\n" + Render.incidents(all)
                }
                return
            }
            try options.output(status) { Render.status(status, detailed: repository != nil) }
        }
    }
}
