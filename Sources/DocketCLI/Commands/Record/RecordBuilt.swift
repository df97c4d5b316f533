import ArgumentParser
import DocketCore

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
}
