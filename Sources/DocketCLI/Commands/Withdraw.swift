import ArgumentParser
import DocketCore

extension Docket {
    struct Withdraw: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "withdraw",
            abstract: "Withdraw your approval of a digest for an environment.")

        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The environment.") var env: String

        func run() throws { try common.emit(.withdrawn(.init(environment: env))) }
    }
}
