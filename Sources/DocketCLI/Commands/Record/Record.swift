import ArgumentParser
import DocketCore

extension Docket {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "record",
            abstract: "Record a fact about an image: built, deployed, check, incident.",
            subcommands: [Built.self, Deployed.self, Check.self, Incident.self])
    }
}
