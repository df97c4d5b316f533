import ArgumentParser
import DocketCore
import DocketRegistry

extension Docket.Record {
    struct Built: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "built", abstract: "Record that CI built an image (provenance).")
        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "A tag applied to the image (repeatable).") var tag: [String] = []
        @Option(name: .long, help: "Source repository URL.") var sourceRepo: String?
        @Option(name: .long, help: "Source revision (commit).") var sourceRevision: String?
        @Option(name: .long, help: "The builder (for example github-actions).") var builder: String?
        @Option(name: .long, help: "The build's id.") var buildId: String?
        @Flag(
            name: .long,
            help:
                "The image is REPOSITORY:TAG: ask the registry for its digest (bytes hashed) and record that, with the tag."
        )
        var resolve = false

        func validate() throws {
            guard (sourceRepo == nil) == (sourceRevision == nil) else {
                throw ValidationError("--source-repo and --source-revision go together")
            }
        }

        func run() throws {
            let source = sourceRepo.map { Predicates.Source(repository: $0, revision: sourceRevision ?? "") }
            var tags = tag
            var subject: ImageReference? = nil
            if resolve {
                let name = try ImageName(parsing: common.image)
                let digest = try RegistryClient().resolve(name)
                subject = ImageReference(repository: name.repository.name, digest: digest)
                if let resolved = name.tag, !tags.contains(resolved) { tags.insert(resolved, at: 0) }
                if !common.options.json { Terminal.note("\(name) resolves to \(digest) in the registry") }
            }
            try common.emit(
                .built(.init(tags: tags.isEmpty ? nil : tags, source: source, builder: builder, buildId: buildId)),
                subject: subject)
        }
    }
}
