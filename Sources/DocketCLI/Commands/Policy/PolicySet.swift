import ArgumentParser
import DocketCore
import Foundation

extension Docket.PolicyCommand {
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Validate a YAML or JSON policy and record it (signed by an admin).",
            discussion: """
                Refused (exit 2, nothing recorded): anything the schema does not allow, duplicate checks, a rule \
                with min 0, a repository pattern that can match no repository name, an unknown time zone, a \
                window that ends before it starts. Warned on stderr (still recorded): identities or teams no \
                enrolled key has, a min larger than the keys able to meet it, overlapping pipelines, services \
                left running in an environment the policy no longer has.
                """)

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The policy file (YAML or JSON; schema in schemas/policy.schema.json).")
        var file: String

        func run() throws {
            let text = String(decoding: try readLimited(file, limit: 1 << 20), as: UTF8.self)
            let policy = try Policy(parsing: text, source: file)
            let client = try options.client()
            let context = try client.ask(PolicyContextQuestion())
            let running = context.running.map { (environment: $0.environment, repository: $0.repository) }
            for warning in policy.warnings(signers: context.signers, running: running) {
                Terminal.warning("\(file): \(warning)".terminalSafe(keepNewlines: false))
            }
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: "policy", subjectDigest: policy.documentHash,
                predicate: .policy(.init(policy: policy.document)), client: client)
        }
    }
}
