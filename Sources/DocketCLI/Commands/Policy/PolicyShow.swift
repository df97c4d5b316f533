import ArgumentParser
import DocketCore
import Foundation

extension Docket.PolicyCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the policy in force.")

        @OptionGroup var options: LedgerOptions

        func run() throws {
            guard let recorded = try options.ask(PolicyQuestion()) else {
                throw CLIError.no("no policy is recorded yet; set one with `docket policy set FILE --key ADMIN.key`")
            }
            let (index, policy) = (recorded.index, try recorded.parsed())
            if options.json {
                print(
                    try Terminal.json(
                        ["index": .number(Double(index)), "policy": policy.document] as [String: JSONValue]))
                return
            }
            var lines = ["policy recorded at entry \(index)"]
            for pipeline in policy.pipelines {
                lines.append(
                    "pipeline \(pipeline.name): \(pipeline.repositories.map(\.text).joined(separator: ", "))")
                for env in pipeline.environments { lines.append("  \(env.name): " + Self.describe(env)) }
            }
            if !policy.protectedTags.isEmpty {
                lines.append("protected tags (every repository): \(policy.protectedTags.joined(separator: " "))")
            }
            for rule in policy.workloads {
                let claims = rule.claims.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                lines.append(
                    "workload \(rule.name): tokens of \(rule.issuer) with \(claims.joined(separator: ", ")) sign as \(rule.identity) (\(rule.roles.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            Terminal.out(lines.joined(separator: "\n"))
        }

        static func describe(_ env: EnvironmentRules) -> String {
            guard let from = env.from else { return "entry environment (digests enter by `deployed`)" }
            var parts = ["from \(from)"]
            if let soak = env.soak { parts.append("soak \(soak)") }
            if let a = env.approvals {
                var text = a.rules.map {
                    ($0.name == "approvals" ? "" : "\($0.name): ") + "\($0.min) from \($0.allowedDescription)"
                }.joined(separator: ", ")
                if let maxAge = a.maxAge { text += " within \(maxAge)" }
                if a.separationOfDuties { text += ", separation of duties" }
                if a.distinct { text += ", one person per rule" }
                if a.userVerification {
                    text += ", signed by a security key with user verification"
                } else if a.userPresence {
                    text += ", signed by a security key with user presence"
                }
                parts.append("approvals \(text)")
            }
            if !env.checks.isEmpty { parts.append("checks \(env.checks.joined(separator: ", "))") }
            for window in env.freeze { parts.append("freeze \(window.description)") }
            if !env.protectedTags.isEmpty {
                parts.append("protected tags (its pipeline's repositories) \(env.protectedTags.joined(separator: " "))")
            }
            if let glass = env.breakGlass {
                parts.append(
                    "break-glass may override \(glass.allow.joined(separator: ", "))"
                        + (glass.approvals > 0 ? " with \(glass.approvals) approval(s) of it" : ""))
            } else {
                parts.append("no break-glass")
            }
            if !env.registryTags.isEmpty {
                parts.append("moves registry tags \(env.registryTags.joined(separator: ", "))")
            }
            if let plan = env.rollbackPlan { parts.append("rollback plan: \(plan)") }
            return parts.joined(separator: "; ")
        }
    }
}
