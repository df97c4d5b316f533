import ArgumentParser
import DocketCore

extension Docket.Record {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the result of a check (scan, test, benchmark).")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The check's name (as in the policy's checks).") var check: String
        @Option(name: .long, help: "The result.") var result: Predicates.CheckResult
        @Option(name: .long, help: "Where the details are (URI).") var details: String?

        func run() throws {
            try common.emit(.check(.init(check: check, result: result, details: details)))
        }
    }
}
