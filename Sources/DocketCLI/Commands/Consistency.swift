import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Consistency: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "consistency",
            abstract: "Print an RFC 9162 consistency proof from a saved checkpoint to the latest one.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "A checkpoint file saved earlier with `docket checkpoint`.")
        var oldCheckpoint: String

        func run() throws {
            let ledger = try options.open(readOnly: true)
            let text = String(decoding: try readLimited(oldCheckpoint, limit: 1 << 16), as: UTF8.self)
            let (old, _) = try Checkpoint.verified(
                text: text, logKey: try ledger.logVerifierKey(), source: oldCheckpoint)
            let proof = try ledger.proofs.consistencyProof(from: old)
            if options.json {
                print(try Terminal.json(["proof": proof.text]))
            } else {
                Terminal.out(proof.text, terminator: "")
            }
        }
    }
}
