import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct CheckpointCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Print the latest signed checkpoint (save it to check consistency later).")

        @OptionGroup var options: LedgerOptions

        func run() throws {
            let note = try options.client(readOnly: true).checkpoint()
            if options.json { print(try Terminal.json(["checkpoint": note])) } else { print(note, terminator: "") }
        }
    }
}
