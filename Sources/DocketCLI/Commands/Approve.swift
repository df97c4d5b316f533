import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "approve",
            abstract: "Approve a digest for an environment with your own key.",
            discussion: """
                With --out the signed approval is written to a file, to be appended with `docket submit FILE`. \
                When the approval cannot count (no approval rule there, no rule allows you, separation of duties, \
                an unknown digest), a warning says why on stderr; the exit status is still 0. --break-glass \
                approves a break-glass promotion instead (breakGlass.approvals in the policy).
                """)

        @OptionGroup var common: RecordOptions
        @Option(name: .long, help: "The environment the approval is for.") var env: String
        @Option(name: .long, help: "A comment.") var comment: String?
        @Option(name: .long, help: "Expire the approval after this long (for example 72h).") var expires: String?
        @Flag(
            name: .long, help: "Approve a break-glass promotion of the digest (counts only for breakGlass.approvals).")
        var breakGlass = false

        func run() throws {
            var expiresAt: String? = nil
            if let expires {
                guard let duration = PolicyDuration(parsing: expires), duration.seconds > 0 else {
                    throw ValidationError(
                        "--expires \(expires): give a duration such as 30m, 72h or 7d (at most 100 years)")
                }
                expiresAt = Timestamp.now().adding(seconds: duration.seconds).rfc3339
            }
            let reference = try ImageReference(parsing: common.image)
            let emitter = EventEmitter(ledgerOptions: common.options, signing: common.signing, emit: common.emit)
            let client = try emitter.clientIfPresent()
            let key = try common.signing.load(
                for: client, ledger: try emitter.identity(client), json: common.options.json)
            let checked = try client?.ask(
                ApprovalWarningsQuestion(
                    image: reference.description, environment: env, keyID: key.publicKey.keyID,
                    breakGlass: breakGlass))
            let warnings = checked?.warnings ?? []
            try emitter.run(
                subjectName: try checked?.repository ?? emitter.repository(for: reference, client: nil),
                subjectDigest: reference.digest.hex,
                predicate: .approved(
                    .init(
                        environment: env, comment: comment, expiresAt: expiresAt, breakGlass: breakGlass ? true : nil)),
                client: client, key: key)
            for warning in warnings { Terminal.warning("the approval may not count: \(warning)") }
        }
    }
}
