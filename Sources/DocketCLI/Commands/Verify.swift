import ArgumentParser
import DocketCore
import Foundation

extension Docket {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract:
                "Re-check the whole history: entries, signatures, roles, Merkle root, checkpoint, projections, promotions.",
            discussion:
                "Exit 0 when clean, 1 when violations are found (each names its entry), 2 when the input cannot be read."
        )

        @OptionGroup var options: LedgerOptions

        @Option(name: .long, help: "Verify a bundle file (from `docket export`) instead of the ledger database.")
        var bundle: String?

        @Option(
            name: .long,
            help:
                "Pin the log's verifier key (origin+keyid+base64) instead of trusting the one recorded in the history.")
        var logKey: String?

        @Option(name: .long, help: "A checkpoint file saved earlier: fail if the history no longer extends it.")
        var since: String?

        @Option(
            name: .long, parsing: .upToNextOption,
            help: "Require a consistent checkpoint cosigned by this witness verifier key (repeatable).")
        var witness: [String] = []

        @Option(
            name: .long,
            help:
                "Prove a lock from `docket pin --lock FILE` instead: each pin's entry and inclusion proof against the lock's checkpoint."
        )
        var lock: String?

        @Option(
            name: .long,
            help:
                "Check a server's signed answer (from --save-answer FILE) instead: the log, or --bundle, replayed to the answer's checkpoint must give the same answer."
        )
        var answer: String?

        func run() throws {
            if let lock { return try verifyLock(lock) }
            if let answer { return try verifyAnswer(answer) }
            var verifyOptions = Verifier.Options()
            // Against a server, the key the client pinned (DOCKET_LOG_KEY) is the one to verify its mirror with.
            verifyOptions.pinnedLogKey = try pinnedLogKey()
            verifyOptions.sinceName = "--since checkpoint"
            verifyOptions.since = try since.map { String(decoding: try readLimited($0, limit: 1 << 16), as: UTF8.self) }
            verifyOptions.witnesses = try witness.map { try verifierKey($0) }
            let progress = Terminal.progress("verifying")
            let report: VerificationReport
            if let bundle {
                report = try Verifier.verify(bundleAt: bundle, options: verifyOptions, progress: progress)
            } else {
                report = try Verifier.verify(
                    ledger: try options.open(readOnly: true), options: verifyOptions, progress: progress)
            }
            try options.output(report) { Self.render(report) }
            if !report.ok { throw ExitCode(ExitStatus.no) }
        }

        /// `--log-key`, or against a server the key the client pinned (DOCKET_LOG_KEY) for its mirror.
        func pinnedLogKey() throws -> NoteVerifierKey? {
            let pinned = logKey ?? (options.isRemote ? ProcessInfo.processInfo.environment["DOCKET_LOG_KEY"] : nil)
            return try pinned.flatMap { $0.isEmpty ? nil : try verifierKey($0) }
        }

        private func verifyLock(_ path: String) throws {
            let file = try PinLock(parsing: try readLimited(path, limit: 16 << 20), source: path)
            let report = try options.open(readOnly: true).pinLocks.verify(
                file, logKey: try pinnedLogKey(), source: path)
            try options.output(report) {
                var lines = [
                    "\(path): \(report.pins.count) pin(s) in \(report.environment), checkpoint of \(report.checkpointSize) entries (the ledger has \(report.ledgerSize))"
                ]
                for pin in report.pins {
                    let mark = pin.proved ? Terminal.green("✓") : Terminal.red("✗")
                    var line = "  \(mark) \(pin.repository)@\(pin.digest) (entry \(pin.index))"
                    if let problem = pin.problem { line += ": " + problem }
                    if pin.proved, !pin.current { line += "; no longer current in \(report.environment)" }
                    lines.append(line.terminalSafe(keepNewlines: false))
                }
                for problem in report.problems { lines.append("  \(Terminal.red("✗")) \(problem)") }
                lines.append(
                    report.ok
                        ? Terminal.green("verified: every pin was the ledger's current digest at the lock's checkpoint")
                        : Terminal.red("the lock does not hold"))
                return lines.joined(separator: "\n")
            }
            if !report.ok { throw ExitCode(ExitStatus.no) }
        }

        static func render(_ r: VerificationReport) -> String {
            var lines: [String] = []
            lines.append("\(r.source): \(r.entries) entries, root \(r.root)")
            lines.append(
                r.logKey.isEmpty
                    ? "  log key: none (no genesis entry)"
                    : "  log key \(r.logKey) (\(r.logKeyPinned ? "pinned" : "from the history itself"))")
            lines.append("  \(r.promotionsChecked) promotion(s) re-evaluated against the policy in force")
            // One line says both what is trusted and how to pin it (the note), not a note and a hint repeating it.
            for note in r.notes { lines.append("  note: \(note.terminalSafe(keepNewlines: false))") }
            if r.problems.contains(where: { $0.kind == "witness" && $0.message.hasPrefix("no checkpoint cosigned") }) {
                lines.append("  hint: a witness cosigns with `docket witness cosign`")
            }
            if !r.breakGlass.isEmpty {
                lines.append("break-glass promotions and rollbacks:")
                for b in r.breakGlass {
                    let what = b.kind == EventKind.rolledBack.rawValue ? "rolled back to" : "promoted"
                    lines.append(
                        "  entry \(b.index): \(b.repository)@\(b.digest) \(what) \(b.environment): \(b.reason) (overriding: \(b.failedRules.joined(separator: ", ")))"
                            .terminalSafe(keepNewlines: false))
                }
            }
            if !r.drift.isEmpty {
                lines.append("drift:")
                for d in r.drift {
                    lines.append(
                        ("  entry \(d.index): observed \(d.digest) of \(d.repository) in \(d.environment) while \(d.currentDigest ?? "nothing") was current"
                            + (d.settledIndex.map { "; settled at entry \($0)" } ?? "; still standing"))
                            .terminalSafe(keepNewlines: false))
                }
            }
            if !r.tagMoves.isEmpty {
                lines.append("tag moves:")
                for m in r.tagMoves { lines.append("  entry \(m.index): " + Render.tagMove(m)) }
            }
            if r.ok {
                lines.append(Terminal.green("verified: no problems found"))
            } else {
                lines.append(Terminal.red("\(r.problems.count) problem(s):"))
                for p in r.problems {
                    lines.append(
                        "  \(Terminal.red("✗")) [\(p.kind)] \(p.message.terminalSafe(keepNewlines: false, limit: 600))")
                }
            }
            return lines.joined(separator: "\n")
        }
    }
}
