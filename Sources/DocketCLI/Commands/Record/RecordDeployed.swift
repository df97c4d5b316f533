import ArgumentParser
import DocketCore

extension Docket.Record {
    struct Deployed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deployed",
            abstract: "Record that an image was deployed to an environment.")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The environment.") var env: String
        @Option(name: .long, help: "The deployment's id.") var deployment: String?

        func run() throws { try common.emit(.deployed(.init(environment: env, deployment: deployment))) }
    }
}
