import ArgumentParser
import DocketCore
import Foundation

extension Docket.PolicyCommand {
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a YAML or JSON policy and record it (signed by an admin).")

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The policy file (YAML or JSON; schema in schemas/policy.schema.json).")
        var file: String

        func run() throws {
            let text = String(decoding: try readLimited(file, limit: 1 << 20), as: UTF8.self)
            let policy = try Policy(parsing: text, source: file)
            try EventEmitter(ledgerOptions: options, signing: signing).run(
                subjectName: "policy", subjectDigest: policy.documentHash,
                predicate: .policy(.init(policy: policy.document)))
        }
    }
}
