import ArgumentParser
import DocketCore

extension Docket.Record {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Record the result of a check (scan, test, benchmark).")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The check's name (as in the policy's checks).") var check: String
        @Option(name: .long, help: "The result.") var result: Predicates.CheckResult
        @Option(name: .long, help: "Where the details are (URI).") var details: String?

        func run() throws {
            // One ledger for the append and the warning: a misspelt name is recorded (it is a fact) but would
            // never satisfy a gate, so say so.
            let emitter = EventEmitter(ledgerOptions: common.options, signing: common.signing, emit: common.emit)
            let client = try emitter.clientIfPresent()
            let reference = try ImageReference(parsing: common.image)
            let checked = try client?.ask(CheckWarningQuestion(image: reference.description, check: check))
            try emitter.run(
                subjectName: try checked?.repository ?? emitter.repository(for: reference, client: nil),
                subjectDigest: reference.digest.hex,
                predicate: .check(.init(check: check, result: result, details: details)), client: client)
            if let warning = checked?.warning { Terminal.warning(warning) }
        }
    }
}
