import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct VerifyProof: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-proof",
            abstract:
                "Check an inclusion proof against an entry, or a consistency proof against an old checkpoint, offline.",
            discussion: "Exit 0 when the proof holds, 1 when it does not.")

        @Argument(
            help: "A tlog-proof@v1 file (from `docket prove`) or a consistency proof (from `docket consistency`).")
        var proof: String

        @Argument(
            help:
                "For an inclusion proof: the entry file (one line, as in a bundle). For a consistency proof: the old checkpoint file."
        )
        var evidence: String

        @Option(name: .long, help: "The log's verifier key (origin+keyid+base64).")
        var logKey: String

        func run() throws {
            let key = try verifierKey(logKey)
            let text = String(decoding: try readLimited(proof, limit: 1 << 20), as: UTF8.self)
            var evidenceBytes = try readLimited(evidence, limit: Envelope.maximumSize + 8192)
            // Reading the inputs: anything malformed is bad input (exit 2). Checking them: a proof that does not
            // hold is a "no" (exit 1).
            if text.hasPrefix(InclusionProof.header) {
                if evidenceBytes.last == UInt8(ascii: "\n") { evidenceBytes.removeLast() }
                let parsed = try InclusionProof(parsing: text, source: proof)
                let entry: Entry
                do {
                    entry = try Entry(bytes: evidenceBytes, source: evidence)
                } catch {
                    throw CLIError.badInput(
                        "\(evidence) is not an entry (one line of a bundle, or the .entry file `docket prove --out-dir` writes)"
                    )
                }
                guard entry.index == parsed.index else {
                    // The proof does not prove this entry: a "no", like any other proof that does not hold.
                    Terminal.error("\(evidence) is entry \(entry.index) but \(proof) proves entry \(parsed.index)")
                    throw ExitCode(ExitStatus.no)
                }
                let checkpoint = try holds { try parsed.verify(entryBytes: evidenceBytes, logKey: key, source: proof) }
                Terminal.out(
                    "entry \(parsed.index) is in \(checkpoint.origin) at tree size \(checkpoint.size) (root \(checkpoint.root.base64EncodedString()))"
                )
            } else {
                let parsed = try ConsistencyProof(parsing: text, source: proof)
                let oldText = String(decoding: evidenceBytes, as: UTF8.self)
                let old = try Checkpoint(note: try SignedNote(parsing: oldText, source: evidence), source: evidence)
                guard old.size == parsed.oldSize else {
                    throw CLIError.badInput(
                        "\(proof) starts at tree size \(parsed.oldSize) but \(evidence) is a checkpoint of size \(old.size): they do not go together"
                    )
                }
                _ = try holds { try Checkpoint.verified(text: oldText, logKey: key, source: evidence) }
                let new = try holds { try parsed.verify(oldCheckpoint: old, logKey: key, source: proof) }
                Terminal.out(
                    "the checkpoint of size \(old.size) is a prefix of the one of size \(new.size): the log only grew")
            }
        }

        /// Runs a check; its failure is the "no" answer.
        private func holds<T>(_ check: () throws -> T) throws -> T {
            do {
                return try check()
            } catch let error as NoteError {
                Terminal.error(error.description)
                throw ExitCode(ExitStatus.no)
            }
        }
    }
}
