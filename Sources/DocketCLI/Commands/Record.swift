import ArgumentParser
import DocketCore

extension Docket {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a fact about an image: built, deployed, check, incident.",
            subcommands: [Built.self, Deployed.self, Check.self, Incident.self])
    }
}

/// The arguments every `record` subcommand shares.
struct RecordOptions: ParsableArguments {
    @OptionGroup var options: LedgerOptions
    @OptionGroup var signing: SigningOptions
    @OptionGroup var emit: EmitOptions

    @Argument(help: "The image as REPOSITORY@sha256:… (a tag is not accepted: tags move).")
    var image: String

    func emit(_ predicate: EventPredicate) throws {
        try EventEmitter(ledgerOptions: options, signing: signing, emit: emit).run(
            subject: try ImageReference(parsing: image), predicate: predicate)
    }
}

extension Docket.Record {
    struct Built: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record that CI built an image (provenance).")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "A tag applied to the image (repeatable).") var tag: [String] = []
        @Option(name: .long, help: "Source repository URL.") var sourceRepo: String?
        @Option(name: .long, help: "Source revision (commit).") var sourceRevision: String?
        @Option(name: .long, help: "The builder (for example github-actions).") var builder: String?
        @Option(name: .long, help: "The build's id.") var buildId: String?

        func validate() throws {
            guard (sourceRepo == nil) == (sourceRevision == nil) else {
                throw ValidationError("--source-repo and --source-revision go together")
            }
        }

        func run() throws {
            let source = sourceRepo.map { Predicates.Source(repository: $0, revision: sourceRevision ?? "") }
            try common.emit(
                .built(.init(tags: tag.isEmpty ? nil : tag, source: source, builder: builder, buildId: buildId)))
        }
    }

    struct Deployed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that an image was deployed to an environment.")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The environment.") var env: String
        @Option(name: .long, help: "The deployment's id.") var deployment: String?

        func run() throws { try common.emit(.deployed(.init(environment: env, deployment: deployment))) }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the result of a check (scan, test, benchmark).")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The check's name (as in the policy's checks).") var check: String
        @Option(name: .long, help: "pass or fail.") var result: String
        @Option(name: .long, help: "Where the details are (URI).") var details: String?

        func run() throws {
            guard let result = Predicates.CheckResult(rawValue: result) else {
                throw ValidationError("--result must be pass or fail")
            }
            try common.emit(.check(.init(check: check, result: result, details: details)))
        }
    }

    struct Incident: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open or resolve an incident against an image.")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The environment.") var env: String
        @Option(name: .long, help: "The incident's id.") var id: String
        @Option(name: .long, help: "open or resolved.") var state: String
        @Option(name: .long, help: "Severity.") var severity: String?
        @Option(name: .long, help: "One-line summary.") var summary: String?

        func run() throws {
            guard let state = Predicates.IncidentState(rawValue: state) else {
                throw ValidationError("--state must be open or resolved")
            }
            try common.emit(
                .incident(.init(environment: env, incident: id, state: state, severity: severity, summary: summary)))
        }
    }
}
