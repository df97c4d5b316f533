import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct LedgerCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger", abstract: "Describe the ledger itself.", subcommands: [Describe.self])

        struct Describe: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "describe",
                abstract: "Print the ledger's origin, ID and log verifier key: what offline signers and auditors need.",
                discussion:
                    "--out FILE writes the description as JSON; an approver on another machine signs for it with `docket approve … --out APPROVAL --ledger-id FILE`."
            )

            @OptionGroup var options: LedgerOptions

            @Option(name: .long, help: "Write the description (JSON) to this file.")
            var out: String?

            func run() throws {
                let description = try options.ask(DescribeQuestion())
                if let out {
                    let data = Data((try Terminal.json(description) + "\n").utf8)
                    do {
                        try data.write(to: URL(fileURLWithPath: out), options: .withoutOverwriting)
                    } catch {
                        throw CLIError.badInput(
                            "cannot write \(out): \(FileManager.default.fileExists(atPath: out) ? "it already exists" : error.localizedDescription)"
                        )
                    }
                }
                try options.output(description) {
                    [
                        "origin:    \(description.origin)", "ledger ID: \(description.ledgerID)",
                        "log key:   \(description.logKey)", "entries:   \(description.size)",
                    ].joined(separator: "\n").terminalSafe() + (out.map { "\nwrote \($0)" } ?? "")
                }
            }
        }
    }
}
