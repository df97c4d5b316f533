import ArgumentParser
import DocketCore

extension Docket {
    struct Pending: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pending",
            abstract: "What waits for approval, and what each gate still needs.",
            discussion: """
                A digest waits for approval in an environment when it is current in the environment's `from`, \
                not yet current there, and an approval rule of the environment does not pass. With --for ME, only \
                what ME may approve and has not yet.
                """)

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "Only what this identity may approve and has not.")
        var `for`: String?

        @Option(name: .long, help: "Only this environment.")
        var env: String?

        func run() throws {
            let pending = try options.ask(PendingQuestion(identity: self.for, environment: env))
            try options.output(pending) {
                guard !pending.isEmpty else {
                    return self.for.map { "nothing waits for \($0)'s approval".terminalSafe() }
                        ?? "nothing waits for approval"
                }
                return pending.map { item in
                    var lines = [
                        "\(item.repository)@\(item.digest) → \(item.environment)".terminalSafe(keepNewlines: false)
                    ]
                    if let mine = item.rulesYouCanMeet {
                        lines.append("  you can help meet: \(mine.joined(separator: ", "))".terminalSafe())
                    }
                    for rule in item.verdict.rules where !rule.passed {
                        lines.append(
                            "  \(Terminal.mark(false)) \(rule.name.map { "\(rule.rule):\($0)" } ?? rule.rule) \(rule.reason)"
                                .terminalSafe(keepNewlines: false))
                    }
                    lines.append(
                        "  approve with: docket approve \(item.repository)@\(item.digest) --env \(item.environment) --key KEY"
                            .terminalSafe())
                    return lines.joined(separator: "\n")
                }.joined(separator: "\n")
            }
        }
    }
}
