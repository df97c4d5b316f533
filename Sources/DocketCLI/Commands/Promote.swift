import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Promote a digest to an environment if its gate passes (checked inside the append transaction).",
            discussion:
                "Exit 1 with the verdict when the gate does not pass; nothing is appended. --break-glass appends anyway when the policy allows it, recording the reason and the failed rules (only the rules the policy's breakGlass.allow names can be overridden, and breakGlass.approvals other people must have approved the break-glass with `docket approve DIGEST --env E --break-glass`)."
        )

        @OptionGroup var options: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Argument(help: "The digest (sha256:…, or REPOSITORY@sha256:…).")
        var digest: String

        @Option(name: .long, help: "The target environment.")
        var to: String

        @Option(name: .long, help: "A tag to apply (repeatable).")
        var tag: [String] = []

        @Option(
            name: .long, help: "Promote despite a failing gate, for this reason (if the policy allows break-glass).")
        var breakGlass: String?

        func validate() throws {
            if let breakGlass, !breakGlass.contains(where: { !$0.isWhitespace }) {
                throw ValidationError("--break-glass needs a reason: say why the gate is being bypassed")
            }
        }

        func run() throws {
            let ledger = try options.open()
            let (digest, repository) = try ledger.resolve(try ImageReference(parsing: self.digest))
            // An encrypted key asks for its passphrase once: loaded here for break-glass, passed on to sign.
            let key = breakGlass == nil ? nil : try signing.load()
            let promotion = try ledger.promotion(
                of: digest, repository: repository, to: to, tags: tag, breakGlass: breakGlass,
                promoterKeyID: key?.publicKey.keyID)
            let emitter = EventEmitter(ledgerOptions: options, signing: signing)
            do {
                try emitter.run(
                    subjectName: repository, subjectDigest: digest.hex, predicate: .promoted(promotion),
                    ledger: ledger, key: key)
                if let glass = promotion.breakGlass, !options.json {
                    Terminal.out(
                        "  break-glass: the gate failed on \(glass.failedRules.joined(separator: ", ")); the reason is recorded and `docket verify` lists it"
                    )
                }
            } catch LedgerError.gateRefused(let verdict) {
                try options.output(verdict) { Render.verdict(verdict) }
                Terminal.error("not promoted: the gate did not pass; nothing was appended")
                throw ExitCode(ExitStatus.no)
            }
        }
    }
}
