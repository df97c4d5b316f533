import ArgumentParser
import DocketCore
import Foundation

extension Docket.Witness {
    struct Cosign: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cosign",
            abstract:
                "Cosign the ledger's latest checkpoint (C2SP cosignature/v1) after checking consistency with your last one.",
            discussion:
                "The witness keeps its last cosigned checkpoint in --state. Exit 1 if the ledger does not extend it.")

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Option(name: .long, help: "The witness's name (for example witness.example.com/auditor).")
        var name: String

        @Option(name: .long, help: "The witness's state file: the last checkpoint it cosigned.")
        var state: String

        @Option(name: .long, help: "Pin the log's verifier key (default: remembered in the state file on first use).")
        var logKey: String?

        func run() throws {
            let ledger = try options.open()
            let key = try signing.load()
            let stateObject =
                FileManager.default.fileExists(atPath: state)
                ? try JSONDecoder().decode([String: String].self, from: try readLimited(state, limit: 1 << 20)) : [:]
            let pinnedText = try logKey ?? stateObject["logKey"] ?? ledger.logVerifierKey().text
            let pinned = try verifierKey(pinnedText)
            let note = try ledger.checkpointNote()
            var (checkpoint, signed) = try Checkpoint.verified(
                text: note, logKey: pinned, source: "the ledger's checkpoint")
            if let previousText = stateObject["checkpoint"] {
                let (previous, _) = try Checkpoint.verified(text: previousText, logKey: pinned, source: state)
                if previous.size > checkpoint.size {
                    throw CLIError.no(
                        "the ledger's checkpoint (size \(checkpoint.size)) is smaller than the one this witness cosigned (size \(previous.size)): the log was truncated; not cosigning"
                    )
                }
                if previous.size > 0 {
                    let proof = try ledger.proofs.consistencyProof(from: previous)
                    do {
                        checkpoint = try proof.verify(
                            oldCheckpoint: previous, logKey: pinned, source: "consistency proof")
                    } catch {
                        throw CLIError.no(
                            "the ledger does not extend the checkpoint this witness cosigned (size \(previous.size)): \(error); not cosigning"
                        )
                    }
                    guard proof.checkpointNote == note else {
                        throw CLIError.no("the checkpoint changed while cosigning; try again")
                    }
                }
            }
            Cosignature.add(to: &signed, name: name, key: key, timestamp: UInt64(Date().timeIntervalSince1970))
            try ledger.recordCosigned(witness: name, note: signed.text)
            let newState = ["logKey": pinned.text, "checkpoint": note]
            try JSONEncoder().encode(newState).write(to: URL(fileURLWithPath: state), options: .atomic)
            let verifier = NoteVerifierKey(name: name, type: NoteVerifierKey.cosignatureV1, publicKey: key.publicKey)
            struct Output: Encodable {
                var cosigned: String
                var witnessKey: String
                var size: Int
            }
            try options.output(Output(cosigned: signed.text, witnessKey: verifier.text, size: checkpoint.size)) {
                "cosigned checkpoint of size \(checkpoint.size) as \(name)\n  witness key (for `verify --witness`): \(verifier.text)"
            }
        }
    }
}
