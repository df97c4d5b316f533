import ArgumentParser
import DocketCore

extension Docket {
    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a digest for an environment with your own key.",
            discussion: "With --out the signed approval is written to a file, to be appended with `docket submit FILE`."
        )

        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The environment the approval is for.") var env: String
        @Option(name: .long, help: "A comment.") var comment: String?
        @Option(name: .long, help: "Expire the approval after this long (for example 72h).") var expires: String?

        func run() throws {
            var expiresAt: String? = nil
            if let expires {
                guard let duration = PolicyDuration(parsing: expires), duration.seconds > 0 else {
                    throw ValidationError(
                        "--expires \(expires): give a duration such as 30m, 72h or 7d (at most 100 years)")
                }
                expiresAt = Timestamp.now().adding(seconds: duration.seconds).rfc3339
            }
            try common.emit(.approved(.init(environment: env, comment: comment, expiresAt: expiresAt)))
        }
    }
}
