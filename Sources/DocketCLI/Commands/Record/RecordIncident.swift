import ArgumentParser
import DocketCore

extension Docket.Record {
    struct Incident: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "incident", abstract: "Open or resolve an incident against an image.")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The environment.") var env: String
        @Option(name: .long, help: "The incident's id.") var id: String
        @Option(name: .long, help: "The incident's state.") var state: Predicates.IncidentState
        @Option(name: .long, help: "Severity.") var severity: String?
        @Option(name: .long, help: "One-line summary.") var summary: String?

        func run() throws {
            try common.emit(
                .incident(.init(environment: env, incident: id, state: state, severity: severity, summary: summary)))
        }
    }
}
