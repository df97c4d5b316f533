import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy", abstract: "Set or show the gate policy.", subcommands: [Set.self, Show.self])
    }
}

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

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the policy in force.")

        @OptionGroup var options: LedgerOptions

        func run() throws {
            guard let (index, policy) = try options.open(readOnly: true).policy() else {
                throw CLIError.no("no policy is recorded yet; set one with `docket policy set FILE --key ADMIN.key`")
            }
            if options.json {
                print(
                    try Terminal.json(
                        ["index": .number(Double(index)), "policy": policy.document] as [String: JSONValue]))
                return
            }
            print("policy recorded at entry \(index)")
            for env in policy.environments {
                guard let from = env.from else {
                    print("  \(env.name): entry environment (digests enter by `deployed`)")
                    continue
                }
                var parts = ["from \(from)"]
                if let soak = env.soak { parts.append("soak \(soak)") }
                if let a = env.approvals {
                    var text = "\(a.min) approval\(a.min == 1 ? "" : "s") from \(a.allowedDescription)"
                    if let maxAge = a.maxAge { text += " within \(maxAge)" }
                    if a.separationOfDuties { text += ", separation of duties" }
                    parts.append(text)
                }
                if !env.checks.isEmpty { parts.append("checks \(env.checks.joined(separator: ", "))") }
                parts.append(env.breakGlass ? "break-glass allowed" : "no break-glass")
                print("  \(env.name): " + parts.joined(separator: "; "))
            }
            if !policy.protectedTags.isEmpty {
                print("  protected tags: \(policy.protectedTags.joined(separator: " "))")
            }
        }
    }
}
