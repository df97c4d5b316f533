import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write an auditor's report of a bundle: HTML (self-contained, prints well) or Markdown.",
            discussion: """
                Verifies the bundle first and says whether it passed; then each environment's history per service \
                and every promotion and rollback with its evidence as the gate saw it at that entry (approvals and \
                who gave them, soak, checks, the policy in force), break-glass highlighted. Reads nothing but the \
                bundle. Exit 0 when verification passed, 1 when it found problems (the report is written either \
                way), 2 when the bundle cannot be read or the output cannot be written.
                """)

        @Option(name: .long, help: "The bundle file (from `docket export`).")
        var bundle: String

        @Option(name: .long, help: "Where to write the report; - for standard output.")
        var out: String

        @Option(name: .long, help: "html (default) or markdown.")
        var format: String = "html"

        @Option(
            name: .long,
            help: "Pin the log's verifier key (origin+keyid+base64, or a .pub file) instead of the bundle's own.")
        var logKey: String?

        func run() throws {
            guard ["html", "markdown"].contains(format) else {
                throw ValidationError("--format \(format): give html or markdown")
            }
            if out != "-", FileManager.default.fileExists(atPath: out) {
                throw CLIError.badInput("\(out) already exists; choose another path or remove it first")
            }
            var options = Verifier.Options()
            options.pinnedLogKey = try logKey.map { try verifierKey($0) }
            let report = try AuditReport.build(
                bundleAt: bundle, options: options, scratch: NSTemporaryDirectory(),
                progress: Terminal.progress("verifying"))
            let text = format == "html" ? report.html : report.markdown
            if out == "-" {
                FileHandle.standardOutput.write(Data(text.utf8))
            } else {
                guard FileManager.default.createFile(atPath: out, contents: Data(text.utf8)) else {
                    throw CLIError.badInput("cannot write \(out); check the folder exists and is writable")
                }
                let v = report.verification
                Terminal.out(
                    "wrote \(out): \(v.entries) entries, \(report.promotions.count) promotion(s), \(report.moves.count - report.promotions.count) rollback(s); "
                        + (v.ok
                            ? Terminal.green("verification passed")
                            : Terminal.red("verification FAILED (\(v.problems.count) problem(s))")))
            }
            if !report.verification.ok { throw ExitCode(ExitStatus.no) }
        }
    }
}
