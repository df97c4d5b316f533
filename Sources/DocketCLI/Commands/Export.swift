import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the bundle: a header line, then every entry's bytes, one per line (JSON Lines).")

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "The bundle file to write.")
        var out: String

        func run() throws {
            guard !FileManager.default.fileExists(atPath: out) else {
                throw CLIError.badInput("\(out) already exists; choose another path or remove it first")
            }
            let header = try options.open(readOnly: true).proofs.exportBundle(
                to: out, progress: Terminal.progress("exporting"))
            struct Output: Encodable {
                var out: String
                var size: Int
                var logKey: String
            }
            try options.output(Output(out: out, size: header.size, logKey: header.logKey)) {
                "wrote \(out): \(header.size) entries, log key \(header.logKey)"
            }
        }
    }
}
