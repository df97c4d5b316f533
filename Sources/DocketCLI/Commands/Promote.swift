import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Promote a digest to an environment if its gate passes (checked inside the append transaction).",
            discussion:
                "Exit 1 with the verdict when the gate does not pass; nothing is appended. --break-glass appends anyway when the policy allows it, recording the reason and the failed rules."
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
            let reference = try ImageReference(parsing: digest)
            let ledger = try options.open()
            guard let (_, policy) = try ledger.policy() else {
                throw CLIError.badInput("no policy is recorded yet; set one with `docket policy set FILE`")
            }
            guard let rules = policy.environment(to) else {
                throw CLIError.badInput(
                    "`\(to)` is not in the policy; environments are \(policy.environmentNames.joined(separator: ", "))")
            }
            guard let from = rules.from else {
                throw CLIError.badInput("`\(to)` has no gate: digests enter it with `docket record deployed`")
            }
            var glass: Predicates.BreakGlass? = nil
            var key: SigningKey? = nil
            if let breakGlass {
                let loaded = try signing.load()
                key = loaded
                let promoter = try ledger.keys().first { $0.keyID == loaded.publicKey.keyID }?.identity
                let verdict = try ledger.gate(
                    digest: reference.digest, environment: to, at: try ledger.ledgerTime(), promoter: promoter)
                glass = Predicates.BreakGlass(reason: breakGlass, failedRules: verdict.failedRules)
            }
            let emitter = EventEmitter(ledgerOptions: options, signing: signing)
            do {
                try emitter.run(
                    subjectName: try emitter.repository(for: reference, ledger: ledger),
                    subjectDigest: reference.digest.hex,
                    predicate: .promoted(.init(from: from, to: to, tags: tag.isEmpty ? nil : tag, breakGlass: glass)),
                    ledger: ledger, key: key)
                if let glass, !options.json {
                    print(
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
