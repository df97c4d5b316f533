import ArgumentParser
import DocketCore
import Foundation

extension Docket.PolicyCommand {
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
